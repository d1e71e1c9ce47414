"""Webhooks: one sender lease per Subscription (strict order, one sender across processes) and the Subscription
epoch that keys each process's cache of active Subscriptions; the outbox rows lose their own lease.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_sender",
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
    )
    op.create_table(
        "webhook_subscription_epoch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("token", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("webhook_delivery") as batch:  # the per-row lease is replaced by webhook_sender
        batch.drop_column("lease_until")
        batch.drop_column("leased_by")


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))
    op.drop_table("webhook_subscription_epoch")
    op.drop_table("webhook_sender")
