"""The security log: refused anonymous requests aggregated per minute, source and kind (issue 13).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_event",
        sa.Column("minute", sa.DateTime, primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime, nullable=False),
        sa.Column("sample", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("security_event")
