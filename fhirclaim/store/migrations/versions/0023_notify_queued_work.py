"""PostgreSQL tells other processes of queued work: NOTIFY on inserts into `claim_job` and `webhook_delivery`
(issue 17).

A statement-level trigger on each table calls `pg_notify` with the topic's channel (`commit_notices.CHANNELS`,
copied here as this revision knows them); PostgreSQL delivers the notice when the inserting transaction commits,
never for one rolled back, and once per channel per transaction. `notice_listener.py` LISTENs for them in every
process that runs workers, so a `fhirclaim worker` wakes for a job another process queued instead of waiting for its
next poll. SQLite has no NOTIFY: nothing changes there. The function is made with OR REPLACE: a database whose tables
were dropped keeps its functions. Downgrade drops the triggers and their function.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_FUNCTION = "fhirclaim_notify_queued"
_TRIGGERS = {"claim_job": "fhirclaim_claim_job_queued", "webhook_delivery": "fhirclaim_webhook_queued"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(TG_ARGV[0], '');
            RETURN NULL;
        END
        $$""")
    for table, channel in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {channel} AFTER INSERT ON {table} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION {_FUNCTION}('{channel}')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, channel in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {channel} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
