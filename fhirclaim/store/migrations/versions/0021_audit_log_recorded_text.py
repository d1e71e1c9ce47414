"""`audit_log.recorded` on SQLite as SQLAlchemy's DateTime writes it: whole microseconds (issue 17).

0019's first version (commit 8037226) moved the AuditEvents through untyped columns, so on SQLite the driver wrote
`recorded` itself, as `datetime.isoformat(" ")`: on a whole second without a fraction (`2026-12-01 08:00:00`), where
SQLAlchemy writes `2026-12-01 08:00:00.000000`. SQLite compares the column's text, so a `date=` search missed such an
event (`2026-12-01 08:00:00` sorts before the bound `2026-12-01 08:00:00.000000`). Every other value it wrote has
SQLAlchemy's form already: a time with a fraction (isoformat's six digits, from the event's `recorded`) and the text
of the resource row's `last_updated` (read through an untyped column: copied as stored). 0019 as it is now types
the column, so nothing else writes the short form.

Upgrade gives those values the fraction they lack; rows of any other form are left as they are. Downgrade leaves
the rows as they are: both forms read as the same time. PostgreSQL's column is a timestamp: nothing to do there.
It imports nothing of the application.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# `datetime.isoformat(" ")` of a whole second, and nothing else (GLOB matches the whole text)
WHOLE_SECOND = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text("UPDATE audit_log SET recorded = recorded || '.000000' WHERE recorded GLOB :whole_second")
                   .bindparams(whole_second=WHOLE_SECOND))


def downgrade() -> None:
    pass  # either form is the same time: nothing to undo
