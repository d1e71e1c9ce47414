"""AuditEvents are append-only (issue 17): written once, never changed, so their one version is their resource row
and the version table no longer holds a copy of it (a statement fewer for every audited write).

Upgrade drops the AuditEvents' version rows (each a copy of its resource row); downgrade writes them back from the
resource rows, as version 1 created (POST) by `system:audit`, which is what they were.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

AUDIT_EVENT = "AuditEvent"
AUTHOR = "system:audit"  # the one author of AuditEvents as of this revision (auth/audit.py)
COLUMNS = ("partition", "resource_type", "logical_id", "version_id", "last_updated", "deleted", "tenant", "content")


def upgrade() -> None:
    version = sa.table("resource_version", sa.column("resource_type"))
    op.execute(sa.delete(version).where(version.c.resource_type == AUDIT_EVENT))


def downgrade() -> None:
    resource = sa.table("resource", *(sa.column(name) for name in COLUMNS))
    version = sa.table("resource_version", *(sa.column(name) for name in (*COLUMNS, "method", "author")))
    rows = sa.select(*(resource.c[name] for name in COLUMNS), sa.literal("POST"), sa.literal(AUTHOR)) \
        .where(resource.c.resource_type == AUDIT_EVENT)
    op.execute(sa.insert(version).from_select([*COLUMNS, "method", "author"], rows))
