"""The claim pipeline's jobs and their recorded steps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_job",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("claim_version", sa.Integer, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("locked_until", sa.DateTime, nullable=True),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("claim_id", "claim_version", name="uq_claim_job_version"),
    )
    op.create_index("ix_claim_job_due", "claim_job", ["status", "next_attempt_at"])
    op.create_index("ix_claim_job_claim", "claim_job", ["claim_id"])
    op.create_table(
        "claim_job_step",
        sa.Column("job_id", sa.Integer, sa.ForeignKey("claim_job.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        sa.Column("done_at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("claim_job_step")
    op.drop_table("claim_job")
