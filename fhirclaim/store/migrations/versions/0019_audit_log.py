"""The audit trail in its own append-only table (issue 17): `audit_log`, one row per AuditEvent.

Upgrade creates `audit_log` and moves every AuditEvent there: its stored JSON as it is, with the values its searches
use taken from it (`store/audit_log.audit_columns`); its resource row, version rows and search index rows go.
Downgrade moves them back: a resource row, a version row (version 1, POST by `system:audit`) and the index rows
the indexer gives each. Rows move in batches, so a long trail does not sit in memory at once.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

AUDIT_EVENT = "AuditEvent"
AUTHOR = "system:audit"  # the one author of AuditEvents as of this revision
BATCH = 1000
INDEX_NAMES = ("idx_token", "idx_string", "idx_reference", "idx_date", "idx_number", "idx_quantity")
COLUMNS = ("partition", "logical_id", "tenant", "recorded", "action", "outcome", "type_system", "type_code",
           "subtype_system", "subtype_code", "entity_type", "entity_id", "content")
RESOURCE = sa.table("resource", *(sa.column(n) for n in ("pk", "partition", "resource_type", "logical_id", "version_id",
                                                         "last_updated", "deleted", "tenant", "content")))
VERSION = sa.table("resource_version", *(sa.column(n) for n in (
    "partition", "resource_type", "logical_id", "version_id", "last_updated", "deleted", "method", "author", "tenant",
    "content")))
AUDIT = sa.table("audit_log", *(sa.column(n) for n in ("pk", *COLUMNS)))


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("logical_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("recorded", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("type_system", sa.String(255), nullable=True),
        sa.Column("type_code", sa.String(64), nullable=True),
        sa.Column("subtype_system", sa.String(255), nullable=True),
        sa.Column("subtype_code", sa.String(64), nullable=True),
        sa.Column("entity_type", sa.String(64), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_log_id", "audit_log", ["logical_id"])
    op.create_index("ix_audit_log_tenant_recorded", "audit_log", ["tenant", "recorded"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"])
    _move_to_audit_log(op.get_bind())


def _move_to_audit_log(connection) -> None:
    from fhirclaim.fhir import jsonio
    from fhirclaim.store.audit_log import audit_columns

    last = 0
    while True:
        rows = connection.execute(
            sa.select(RESOURCE.c.pk, RESOURCE.c.partition, RESOURCE.c.logical_id, RESOURCE.c.tenant,
                      RESOURCE.c.last_updated, RESOURCE.c.content)
            .where(RESOURCE.c.resource_type == AUDIT_EVENT, RESOURCE.c.pk > last)
            .order_by(RESOURCE.c.pk).limit(BATCH)).all()
        if not rows:
            break
        moved = []
        for row in rows:
            event = jsonio.loads(row.content)
            moved.append({"partition": row.partition, "logical_id": row.logical_id, "tenant": row.tenant,
                          "recorded": _recorded(event) or row.last_updated, "content": row.content,
                          **audit_columns(event)})
        connection.execute(sa.insert(AUDIT), moved)
        pks = [row.pk for row in rows]
        for name in INDEX_NAMES:  # explicitly: SQLite's foreign keys are off while migrating (no cascade)
            index = sa.table(name, sa.column("resource_pk"))
            connection.execute(sa.delete(index).where(index.c.resource_pk.in_(pks)))
        connection.execute(sa.delete(RESOURCE).where(RESOURCE.c.pk.in_(pks)))
        last = pks[-1]
    connection.execute(sa.delete(VERSION).where(VERSION.c.resource_type == AUDIT_EVENT))


def _recorded(event: dict) -> datetime | None:
    """`recorded` as naive UTC (what the `date` search compares), None when absent or not an instant."""
    try:
        moment = datetime.fromisoformat(event["recorded"])
    except (KeyError, TypeError, ValueError):
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def downgrade() -> None:
    from fhirclaim.fhir import jsonio
    from fhirclaim.fhir.indexing import index_resource
    from fhirclaim.store.models import INDEX_TABLES
    from fhirclaim.store.repository import _index_row

    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.select(AUDIT).where(AUDIT.c.pk > last).order_by(AUDIT.c.pk).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            common = {"partition": row.partition, "resource_type": AUDIT_EVENT, "logical_id": row.logical_id,
                      "version_id": 1, "last_updated": row.recorded, "deleted": False, "tenant": row.tenant,
                      "content": row.content}
            pk = connection.execute(sa.insert(RESOURCE).values(common).returning(RESOURCE.c.pk)).scalar_one()
            connection.execute(sa.insert(VERSION).values({**common, "method": "POST", "author": AUTHOR}))
            entries: dict[str, list[dict]] = {}
            for entry in index_resource(jsonio.loads(row.content)):
                entries.setdefault(entry.kind, []).append(_index_row(pk, AUDIT_EVENT, entry))
            for kind, values in entries.items():
                connection.execute(sa.insert(INDEX_TABLES[kind].__table__), values)
        last = rows[-1].pk
    op.drop_table("audit_log")
