"""The worklist's index for a part of a patient's name on PostgreSQL only (issue 17).

`ix_worklist_patient_trgm` is a trigram index on PostgreSQL (0014). On SQLite 0014 made it a plain index on
`patient_search`, which LIKE '%…%' cannot use and which none of the worklist's queries reads (each starts from the
tenant's own indexes: EXPLAIN QUERY PLAN), while every worklist line written updates it. Upgrade drops it on
SQLite; downgrade makes it again there. PostgreSQL keeps it as it is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index("ix_worklist_patient_trgm", "claim_worklist")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_worklist_patient_trgm", "claim_worklist", ["patient_search"])
