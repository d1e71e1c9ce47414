"""SQLite copies its write-ahead log into the database file every `WAL_CHECKPOINT_PAGES` pages, not at its default
1000 (issue 17): the pages every write changes are then copied once per ~200 creates instead of once per ~20. The
commits stay durable (synchronous=FULL) and what they wrote is read back whether or not it was copied yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fhirclaim.store import execution
from fhirclaim.store.db import WAL_CHECKPOINT_PAGES, Database, sqlite_path

from pipelinekit import INSERT_VERSION, VERSION, version_row

DEFAULT_MARK = 1000  # SQLite's own wal_autocheckpoint
PAGE = 4096


@pytest.fixture
def sqlite(database: Database) -> Database:
    if not database.is_sqlite:
        pytest.skip("SQLite's write-ahead log")
    return database


def test_each_connection_logs_ahead_syncs_every_commit_and_checkpoints_at_the_mark(sqlite):
    with sqlite.engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert driver.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_CHECKPOINT_PAGES == 10_000


def test_commits_past_sqlites_default_mark_stay_in_the_log_and_are_read_back(sqlite):
    """~1,500 pages in 30 commits: at SQLite's default the log would have been copied and begun again (its file
    kept at ~1,000 pages); here it holds them all, and a fresh connection reads every row."""
    log = Path(f"{sqlite_path(sqlite.url)}-wal")
    content = "x" * 10_000  # a row over two overflow pages
    for commit in range(30):
        with sqlite.session(write=True) as session:
            execution.execute(session, INSERT_VERSION, [{**version_row(f"c{commit}-{n}"), "content": content}
                                                        for n in range(20)])
    assert log.stat().st_size > (DEFAULT_MARK + 100) * PAGE
    fresh = Database(sqlite.url)
    try:
        with fresh.reading() as read:
            assert execution.execute(read, select(func.count()).select_from(VERSION)).scalar_one() == 600
    finally:
        fresh.dispose()
