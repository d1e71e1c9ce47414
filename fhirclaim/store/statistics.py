"""Table statistics for SQLite's query planner: gathered at start and again every thousand write units of work.

Without statistics (`sqlite_stat1`) SQLite guesses how selective each index is, and with several indexes to choose
from it can pick one that scans every row of a kind (all queued jobs, all `identifier` tokens of all Claims), so
the cost of a lookup grows with the data. `ANALYZE` under `PRAGMA analysis_limit` samples at most
`ANALYSIS_LIMIT` rows per index: a few milliseconds at any size, and enough for the planner to see that an
identifier or a claim id picks out one row. PostgreSQL keeps its own statistics (autovacuum): nothing to do there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

ANALYSIS_LIMIT = 1000  # rows sampled per index (SQLite's own suggestion is 100–1000)
# committed transactions (a GET's read ends by rollback and does not count); a sampled ANALYZE is a few ms
COMMITS_BETWEEN_REFRESHES = 1000


def keep_fresh(engine: Engine, *, every: int = COMMITS_BETWEEN_REFRESHES) -> None:
    """Gather statistics now, and again after every `every` write units of work committed on this engine (SQLite
    only)."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_fhirclaim_statistics", None):
        return
    refresher = _Refresher(every)
    engine._fhirclaim_statistics = refresher  # once per engine, however often the schema is migrated
    with engine.connect() as connection:
        analyze(connection.connection.dbapi_connection)
    event.listen(engine, "checkin", refresher.checked_in)


def committed(engine: Engine) -> None:
    """A write unit of work committed on `engine` (`Database.session` says so: counted there rather than in a `commit`
    listener, which would make every statement of the engine dispatch connection events)."""
    refresher = getattr(engine, "_fhirclaim_statistics", None)
    if refresher is not None:
        refresher.committed()


def analyze(dbapi_connection) -> None:
    """Sampled ANALYZE of every table; a locked database is left for the next refresh."""
    try:
        dbapi_connection.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        dbapi_connection.execute("ANALYZE")
    except sqlite3.OperationalError as exc:
        log.info("table statistics not refreshed (%s); next time", exc)


class _Refresher:
    """Counts commits; the connection handed back after the `every`-th refreshes the statistics (outside any
    transaction, so no request waits inside one for it)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.commits = 0
        self.due = False
        self._lock = threading.Lock()

    def committed(self) -> None:
        with self._lock:
            self.commits += 1
            if self.commits >= self.every:
                self.commits, self.due = 0, True

    def checked_in(self, dbapi_connection, _record) -> None:
        with self._lock:
            due, self.due = self.due, False
        if due:
            analyze(dbapi_connection)
