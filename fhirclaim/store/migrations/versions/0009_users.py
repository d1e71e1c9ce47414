"""The web app's users (people of a hospital's claim unit) and the claim worklist it lists.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

# the indexes as of this revision (a later change of the model's indexes is a migration of its own)
WORKLIST_INDEXES = {
    "ix_worklist_updated": ("tenant", "updated_at", "claim_id"),
    "ix_worklist_stage": ("tenant", "stage", "updated_at", "claim_id"),
    "ix_worklist_attention": ("tenant", "attention", "updated_at", "claim_id"),
    "ix_worklist_counts": ("tenant", "stage", "attention"),
    "ix_worklist_sep": ("tenant", "sep", "claim_id"),
    "ix_worklist_mr": ("tenant", "mr_number"),
    "ix_worklist_patient": ("tenant", "patient_search", "claim_id"),
    "ix_worklist_start": ("tenant", "episode_start", "claim_id"),
}

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "claim_worklist",
        sa.Column("claim_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("sep", sa.String(64), nullable=True),
        sa.Column("patient_name", sa.String(255), nullable=True),
        sa.Column("patient_search", sa.String(255), nullable=True),
        sa.Column("mr_number", sa.String(64), nullable=True),
        sa.Column("episode_start", sa.DateTime, nullable=True),
        sa.Column("episode_end", sa.DateTime, nullable=True),
        sa.Column("care_type", sa.String(16), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("attention", sa.String(32), nullable=True),
        sa.Column("next_action", sa.String(32), nullable=False),
        sa.Column("tariff", sa.Numeric(24, 6), nullable=True),
        sa.Column("tarif_rs", sa.Numeric(24, 6), nullable=True),
        sa.Column("causes", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("submitted_at", sa.DateTime, nullable=True),
        sa.Column("paid_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    for name, columns in WORKLIST_INDEXES.items():
        op.create_index(name, "claim_worklist", list(columns))


def downgrade() -> None:
    op.drop_table("claim_worklist")
    op.drop_table("app_user")
