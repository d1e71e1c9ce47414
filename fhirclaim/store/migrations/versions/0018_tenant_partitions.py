"""Logical ids unique per partition (issue 13 part 8): a hospital's rows in its tenant's partition, shared rows in
the `@shared` partition; disclosures to BPJS-K per version.

- `resource`: a non-null `partition` column (the tenant, or `@shared`); unique (type, id, partition);
- `resource_version`: primary key (partition, type, id, version);
- `disclosure`: primary key (partition, type, id, version). Existing disclosures cover every version that exists
  now (what BPJS-K could read before this revision), new ones only the versions in a published Bundle;
- `claim_worklist`: primary key (partition, claim id); `claim_job`: unique (tenant, claim id, version, run).

Existing rows keep their tenant as their partition. Tables whose primary key changes are rebuilt and copied (the
same SQL on SQLite and PostgreSQL); the others change in batch mode (SQLite rebuilds the table: `Database.migrate`
turns SQLite's foreign keys off meanwhile, so the rebuild of `resource` does not cascade to its index rows).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SHARED = "@shared"
# claim_worklist's indexes as of revision 0017 (a later change of the model's indexes is a migration of its own)
WORKLIST_INDEXES = {
    "ix_worklist_updated": ("tenant", "updated_at", "claim_id"),
    "ix_worklist_stage": ("tenant", "stage", "updated_at", "claim_id"),
    "ix_worklist_attention": ("tenant", "attention", "updated_at", "claim_id"),
    "ix_worklist_counts": ("tenant", "stage", "attention"),
    "ix_worklist_sep": ("tenant", "sep", "claim_id"),
    "ix_worklist_mr": ("tenant", "mr_number"),
    "ix_worklist_patient": ("tenant", "patient_search", "claim_id"),
    "ix_worklist_start": ("tenant", "episode_start", "claim_id"),
    "ix_worklist_status": ("tenant", "status", "claim_id"),  # 0014
}
WORKLIST_COLUMNS = (
    ("claim_id", sa.String(64), False), ("tenant", sa.String(64), True), ("sep", sa.String(64), True),
    ("patient_name", sa.String(255), True), ("patient_search", sa.String(255), True),
    ("mr_number", sa.String(64), True), ("episode_start", sa.DateTime, True), ("episode_end", sa.DateTime, True),
    ("care_type", sa.String(16), True), ("status", sa.String(32), False), ("stage", sa.String(16), False),
    ("attention", sa.String(32), True), ("next_action", sa.String(32), False), ("tariff", sa.Numeric(24, 6), True),
    ("tarif_rs", sa.Numeric(24, 6), True), ("causes", sa.Text, True), ("created_at", sa.DateTime, False),
    ("submitted_at", sa.DateTime, True), ("paid_at", sa.DateTime, True), ("updated_at", sa.DateTime, False),
)


def upgrade() -> None:
    _partition_resources()
    versions = _old("resource_version", "resource_type", "logical_id", "version_id", "last_updated", "deleted",
                    "method", "author", "tenant", "content")
    _rebuild("resource_version", _version_columns(), ["partition", "resource_type", "logical_id", "version_id"],
             sa.select(_partition(versions), *(c for c in versions.c)))
    op.create_index("ix_version_type_updated", "resource_version", ["resource_type", "last_updated"])
    disclosed = _old("disclosure", "resource_type", "resource_id", "tenant", "disclosed_at")
    versions = _old("resource_version", "partition", "resource_type", "logical_id", "version_id")
    _rebuild("disclosure", _disclosure_columns(), ["partition", "resource_type", "resource_id", "version_id"],
             sa.select(versions.c.partition, disclosed.c.resource_type, disclosed.c.resource_id,
                       versions.c.version_id, disclosed.c.tenant, disclosed.c.disclosed_at)
             .join_from(disclosed, versions, sa.and_(versions.c.resource_type == disclosed.c.resource_type,
                                                     versions.c.logical_id == disclosed.c.resource_id)))
    worklist = _old("claim_worklist", *(name for name, _, _ in WORKLIST_COLUMNS))
    _rebuild("claim_worklist", [sa.Column("partition", sa.String(64), nullable=False),
                                *(sa.Column(n, t, nullable=null) for n, t, null in WORKLIST_COLUMNS)],
             ["partition", "claim_id"], sa.select(_partition(worklist), *(c for c in worklist.c)))
    for name, columns in WORKLIST_INDEXES.items():
        op.create_index(name, "claim_worklist", list(columns))
    op.create_index("ix_worklist_patient_trgm", "claim_worklist", ["patient_search"], postgresql_using="gin",
                    postgresql_ops={"patient_search": "gin_trgm_ops"})  # as 0014 made it
    with op.batch_alter_table("claim_job") as batch:
        batch.drop_constraint("uq_claim_job_version_run", type_="unique")
        batch.create_unique_constraint("uq_claim_job_version_run", ["tenant", "claim_id", "claim_version", "run"])


def _partition_resources() -> None:
    op.add_column("resource", sa.Column("partition", sa.String(64), nullable=True))
    resource = _old("resource", "tenant", "partition")
    op.execute(resource.update().values(partition=_partition(resource)))
    with op.batch_alter_table("resource") as batch:
        batch.alter_column("partition", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_resource_type_id", type_="unique")
        batch.create_unique_constraint("uq_resource_type_id_partition", ["resource_type", "logical_id", "partition"])


def _version_columns() -> list[sa.Column]:
    return [sa.Column("partition", sa.String(64), nullable=False),
            sa.Column("resource_type", sa.String(64), nullable=False),
            sa.Column("logical_id", sa.String(64), nullable=False),
            sa.Column("version_id", sa.Integer, nullable=False),
            sa.Column("last_updated", sa.DateTime, nullable=False),
            sa.Column("deleted", sa.Boolean, nullable=False),
            sa.Column("method", sa.String(8), nullable=False),
            sa.Column("author", sa.String(128), nullable=True),
            sa.Column("tenant", sa.String(64), nullable=True),
            sa.Column("content", sa.Text, nullable=True)]


def _disclosure_columns() -> list[sa.Column]:
    return [sa.Column("partition", sa.String(64), nullable=False),
            sa.Column("resource_type", sa.String(64), nullable=False),
            sa.Column("resource_id", sa.String(64), nullable=False),
            sa.Column("version_id", sa.Integer, nullable=False),
            sa.Column("tenant", sa.String(64), nullable=True),
            sa.Column("disclosed_at", sa.DateTime, nullable=False)]


def _old(table: str, *columns: str) -> sa.TableClause:
    return sa.table(table, *(sa.column(name) for name in columns))


def _partition(table: sa.TableClause) -> sa.ColumnElement:
    return sa.func.coalesce(table.c.tenant, SHARED)


def _rebuild(table: str, columns: list[sa.Column], key: list[str], rows: sa.Select) -> None:
    """`table` again with a new primary key, its rows copied by `rows` (a SELECT of the old table, in the new
    column order); indexes are the caller's to create again."""
    new = f"{table}_new"
    created = op.create_table(new, *columns, sa.PrimaryKeyConstraint(*key, name=f"pk_{new}"))
    op.execute(created.insert().from_select([c.name for c in columns], rows))
    op.drop_table(table)
    op.rename_table(new, table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "pk_{new}" TO "{table}_pkey"')


def downgrade() -> None:
    raise NotImplementedError("0018 cannot be undone: two hospitals may now hold the same logical id")
