"""An index on (claim_id, status) of the claim jobs: enqueueing supersedes a claim's queued jobs by it.

Without it SQLite's planner may take `ix_claim_job_due` (status, next_attempt_at) for
`UPDATE claim_job … WHERE claim_id = ? AND status = 'queued'` and visit every queued job of every claim, so an
enqueue costs more the longer the queue (issue 17). `ix_claim_job_claim` (claim_id) stays for the other lookups.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_claim_job_claim_status", "claim_job", ["claim_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_claim_job_claim_status", table_name="claim_job")
