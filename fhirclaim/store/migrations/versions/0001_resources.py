"""Resources, their versions and the search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _index_table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_pk", sa.Integer, sa.ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_resource_pk", name, ["resource_pk"])


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("logical_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.UniqueConstraint("resource_type", "logical_id", name="uq_resource_type_id"),
    )
    op.create_index("ix_resource_type_updated", "resource", ["resource_type", "last_updated"])
    op.create_index("ix_resource_tenant", "resource", ["tenant"])

    op.create_table(
        "resource_version",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("logical_id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, primary_key=True),
        sa.Column("last_updated", sa.DateTime, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("author", sa.String(128), nullable=True),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("content", sa.Text, nullable=True),
    )
    op.create_index("ix_version_type_updated", "resource_version", ["resource_type", "last_updated"])

    _index_table("idx_token", sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255), nullable=False))
    op.create_index("ix_token_lookup", "idx_token", ["resource_type", "param", "code", "system"])
    _index_table("idx_string", sa.Column("normalised", sa.String(255), nullable=False),
                 sa.Column("exact", sa.String(255), nullable=False))
    op.create_index("ix_string_lookup", "idx_string", ["resource_type", "param", "normalised"])
    _index_table("idx_reference", sa.Column("target_type", sa.String(64), nullable=False),
                 sa.Column("target_id", sa.String(64), nullable=False))
    op.create_index("ix_reference_lookup", "idx_reference", ["resource_type", "param", "target_type", "target_id"])
    op.create_index("ix_reference_target", "idx_reference", ["target_type", "target_id"])
    _index_table("idx_date", sa.Column("low", sa.DateTime, nullable=False),
                 sa.Column("high", sa.DateTime, nullable=False))
    op.create_index("ix_date_lookup", "idx_date", ["resource_type", "param", "low", "high"])
    _index_table("idx_number", sa.Column("value", sa.Numeric(24, 6), nullable=False))
    op.create_index("ix_number_lookup", "idx_number", ["resource_type", "param", "value"])
    _index_table("idx_quantity", sa.Column("value", sa.Numeric(24, 6), nullable=False),
                 sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255)))
    op.create_index("ix_quantity_lookup", "idx_quantity", ["resource_type", "param", "value"])


def downgrade() -> None:
    for table in ("idx_quantity", "idx_number", "idx_date", "idx_reference", "idx_string", "idx_token",
                  "resource_version", "resource"):
        op.drop_table(table)
