"""The security log: requests refused before anyone was identified, kept bounded.

An anonymous caller must not be able to fill the database or another tenant's audit trail, so a request with no
valid credentials (401 at an endpoint, a refused or slowed-down token request) is not an AuditEvent: it increments
a counter per (minute, source address, kind), with the last description as a sample. At most
`MAX_SOURCES_PER_MINUTE` sources get a row of their own in any minute (the rest are counted under "other"), and
rows older than `RETENTION` are dropped as new ones arrive, so the table holds at most
retention × sources × kinds rows whatever the flood. Admin reads it at `GET /admin/security-log`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fhirclaim.store.access import SecurityEventRow
from fhirclaim.store.unit_of_work import Store

MAX_SOURCES_PER_MINUTE = 200
RETENTION = timedelta(hours=24)
OTHER = "other"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SecurityLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = _utc_now):
        self.store = store
        self.clock = clock  # naive UTC

    def record(self, *, source: str | None, kind: str, description: str) -> None:
        """Count one refused anonymous request."""
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        source = (source or "-")[:64]
        with self.store.unit_of_work() as uow:
            session = uow.session
            session.execute(delete(SecurityEventRow).where(SecurityEventRow.minute < minute - RETENTION))
            if session.get(SecurityEventRow, (minute, source, kind)) is None and self._sources(session, minute) >= \
                    MAX_SOURCES_PER_MINUTE:
                source = OTHER
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = insert(SecurityEventRow).values(minute=minute, source=source, kind=kind, count=1,
                                                        last_at=now, sample=description[:200])
            session.execute(statement.on_conflict_do_update(
                index_elements=["minute", "source", "kind"],
                set_={"count": SecurityEventRow.count + 1, "last_at": now, "sample": description[:200]}))

    def recent(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest rows first."""
        with self.store.unit_of_work(write=False) as uow:
            rows = uow.session.execute(select(SecurityEventRow).order_by(
                SecurityEventRow.minute.desc(), SecurityEventRow.count.desc()).limit(limit)).scalars()
            return [{"minute": r.minute.isoformat() + "Z", "source": r.source, "kind": r.kind, "count": r.count,
                     "last_at": r.last_at.isoformat() + "Z", "sample": r.sample} for r in rows]

    @staticmethod
    def _sources(session, minute: datetime) -> int:
        return session.execute(select(func.count()).select_from(SecurityEventRow)
                               .where(SecurityEventRow.minute == minute)).scalar_one()
