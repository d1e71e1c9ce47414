"""Drop `ix_claim_job_claim` (claim_id): `ix_claim_job_claim_status` (claim_id, status, 0017) begins with the same
column, so every lookup of a claim's jobs reads that one, and a job written updated one B-tree more than it needed
(on SQLite a page more in the log per create; issue 17). Downgrade makes it again.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_claim_job_claim", table_name="claim_job")


def downgrade() -> None:
    op.create_index("ix_claim_job_claim", "claim_job", ["claim_id"])
