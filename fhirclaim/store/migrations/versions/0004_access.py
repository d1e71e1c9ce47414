"""OAuth2 clients and tokens, failed logins, tenant settings, disclosures to BPJS-K.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("org", sa.String(64), nullable=True),
        sa.Column("name", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oauth_token",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_oauth_token_client", "oauth_token", ["client_id"])
    op.create_table(
        "oauth_failure",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.DateTime, nullable=False),
        sa.Column("blocked_until", sa.DateTime, nullable=True),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("eklaim_url", sa.String(512), nullable=True),
        sa.Column("eklaim_key_encrypted", sa.Text, nullable=True),
        sa.Column("kode_tarif", sa.String(8), nullable=True),
        sa.Column("hospital_code", sa.String(32), nullable=True),
        sa.Column("payor_id", sa.String(16), nullable=True),
        sa.Column("payor_cd", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "disclosure",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("disclosed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("disclosure", "tenant_settings", "oauth_failure", "oauth_token", "oauth_client"):
        op.drop_table(table)
