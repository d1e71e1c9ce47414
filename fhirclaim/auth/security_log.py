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
from datetime import datetime, timedelta
from typing import Any

from fhirclaim.clock import naive_utc_now
from fhirclaim.store.unit_of_work import Store

MAX_SOURCES_PER_MINUTE = 200
RETENTION = timedelta(hours=24)
OTHER = "other"


class SecurityLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = naive_utc_now):
        self.store = store
        self.clock = clock  # naive UTC

    def record(self, *, source: str | None, kind: str, description: str) -> None:
        """Count one refused anonymous request."""
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        source = (source or "-")[:64]
        with self.store.unit_of_work() as uow:
            events = uow.security_events
            events.drop_before(minute - RETENTION)
            if not events.exists(minute, source, kind) and events.sources_in(minute) >= MAX_SOURCES_PER_MINUTE:
                source = OTHER
            events.count(minute, source, kind, now, description[:200])

    def recent(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest rows first."""
        with self.store.unit_of_work(write=False) as uow:
            return [{"minute": r.minute.isoformat() + "Z", "source": r.source, "kind": r.kind, "count": r.count,
                     "last_at": r.last_at.isoformat() + "Z", "sample": r.sample}
                    for r in uow.security_events.newest(limit)]
