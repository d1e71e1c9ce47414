"""The security log: requests refused before anyone was identified, kept bounded.

An anonymous caller must not be able to fill the database or another tenant's audit trail, so a request with no
valid credentials (401 at an endpoint, a refused or slowed-down token request) is not an AuditEvent: it increments
a counter per (minute, source address, kind), with the last description as a sample. At most
`MAX_SOURCES_PER_MINUTE` sources get a row of their own in any minute (the rest are counted under "other"), and
rows older than `RETENTION` are dropped as new ones arrive, so the table holds at most
retention × sources × kinds rows whatever the flood. Admin reads it at `GET /admin/security-log`.

Nor may a flood take the database's time: a refusal is counted in memory, and the counts are written together, in
one write transaction, by the refusal that opens a new counter (a source or kind not yet seen this minute, so it is
in the table at once) or that comes `WRITE_EVERY` after the last write, when the log is read, and when the server
stops. A flood from one source is one write every few seconds, not a write transaction (and, on SQLite, the one
writer lock) per request (issue 17). A crash loses at most the repeats counted since the last write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhirclaim.clock import naive_utc_now
from fhirclaim.store.unit_of_work import Store

MAX_SOURCES_PER_MINUTE = 200
RETENTION = timedelta(hours=24)
OTHER = "other"
WRITE_EVERY = timedelta(seconds=5)


@dataclass
class _Counter:
    """One (minute, source, kind)'s refusals not yet written."""

    count: int
    last_at: datetime
    sample: str

    def add(self, count: int, last_at: datetime, sample: str) -> None:
        """`count` more refusals, the newest at `last_at` with its description as the sample."""
        self.count, self.last_at, self.sample = self.count + count, last_at, sample


class SecurityLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = naive_utc_now):
        self.store = store
        self.clock = clock  # naive UTC
        self._lock = threading.Lock()
        self._pending: dict[tuple[datetime, str, str], _Counter] = {}
        self._minute: datetime | None = None
        self._seen: set[tuple[datetime, str, str]] = set()  # this minute's counters, written or pending
        self._written_at: datetime | None = None

    def record(self, *, source: str | None, kind: str, description: str) -> None:
        """Count one refused anonymous request (written now, or with the next write: above)."""
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        key = (minute, (source or "-")[:64], kind)
        with self._lock:
            if minute != self._minute:
                self._minute, self._seen = minute, set()
            if key not in self._seen and len(self._seen) >= MAX_SOURCES_PER_MINUTE:
                key = (minute, OTHER, kind)  # bounded in memory as in the table
            opens = key not in self._seen
            self._seen.add(key)
            self._pending.setdefault(key, _Counter(0, now, "")).add(1, now, description[:200])
            if not (opens or self._written_at is None or now - self._written_at >= WRITE_EVERY):
                return
            self._written_at = now
        self.write()

    def write(self) -> None:
        """Write the counts not yet written, in one transaction. Kept for the next write if it fails."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with self.store.unit_of_work() as uow:
                events = uow.security_events
                events.drop_before(max(minute for minute, _, _ in pending) - RETENTION)
                for (minute, source, kind), counter in pending.items():
                    if source != OTHER and not events.exists(minute, source, kind) \
                            and events.sources_in(minute) >= MAX_SOURCES_PER_MINUTE:
                        source = OTHER  # another process filled this minute's sources
                    events.count(minute, source, kind, counter.last_at, counter.sample, by=counter.count)
        except BaseException:
            with self._lock:
                for key, counter in pending.items():  # the counts since, added to the ones not written
                    if (newer := self._pending.get(key)) is not None:
                        counter.add(newer.count, newer.last_at, newer.sample)
                    self._pending[key] = counter
            raise

    def recent(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest rows first, the counts not yet written included."""
        self.write()
        with self.store.unit_of_work(write=False) as uow:
            return [{"minute": r.minute.isoformat() + "Z", "source": r.source, "kind": r.kind, "count": r.count,
                     "last_at": r.last_at.isoformat() + "Z", "sample": r.sample}
                    for r in uow.security_events.newest(limit)]
