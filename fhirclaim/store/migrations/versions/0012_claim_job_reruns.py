"""Claim jobs that can be re-run (issue 14 part 4): a job records the versions of what the claim rested on when it
ran (`inputs`, a JSON list of "Type/id/_history/n"), and a Claim version may have several jobs, one per `run`: a
claim that ended in error runs again when what it rests on changed. The job key becomes (claim, version, run).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_job") as batch:
        batch.add_column(sa.Column("run", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("inputs", sa.Text(), nullable=True))
        batch.drop_constraint("uq_claim_job_version", type_="unique")
        batch.create_unique_constraint("uq_claim_job_version_run", ["claim_id", "claim_version", "run"])


def downgrade() -> None:
    with op.batch_alter_table("claim_job") as batch:
        batch.drop_constraint("uq_claim_job_version_run", type_="unique")
        batch.create_unique_constraint("uq_claim_job_version", ["claim_id", "claim_version"])
        batch.drop_column("inputs")
        batch.drop_column("run")
