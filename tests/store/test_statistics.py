"""SQLite's planner statistics (gathered at start and every few thousand commits) and the claim-job index that
keeps an enqueue from visiting every queued job (issue 17)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, event, text

from fhirclaim.store import statistics
from fhirclaim.store.db import Database
from fhirclaim.store.jobs import JobQueue


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps its own statistics")
    return database_url


def _stat_rows(engine, table: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(
            text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = :t ORDER BY idx"), {"t": table})]


def test_the_server_gathers_statistics_at_start(sqlite_only, runtime):
    with runtime.database.engine.connect() as connection:
        analysed = {row[0] for row in connection.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert "alembic_version" in analysed  # ANALYZE ran (empty tables leave no row of their own)


def test_statistics_are_refreshed_after_every_n_commits(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'stats.db'}")
    engine = database.engine
    with database.session(write=True) as session:
        session.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, code TEXT)"))
        session.execute(text("CREATE INDEX ix_item_code ON item (code)"))
        session.execute(text("INSERT INTO item (code) VALUES ('a'), ('b')"))
    statistics.keep_fresh(engine, every=3)
    assert _stat_rows(engine, "item") == [("ix_item_code", "2 1")]
    for n in range(3):
        with database.session(write=True) as session:
            session.execute(text("INSERT INTO item (code) VALUES (:c)"), {"c": f"c{n}"})
        with database.reading() as session:  # a read ends by rollback: not a commit
            session.execute(text("SELECT count(*) FROM item"))
    assert _stat_rows(engine, "item") == [("ix_item_code", "5 1")]  # the third commit's connection refreshed
    statistics.keep_fresh(engine, every=3)  # a second call (a second migrate) adds no second listener
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO item (code) VALUES ('d')"))
    with pytest.raises(RuntimeError):  # a unit of work rolled back does not count either
        with database.session(write=True) as session:
            session.execute(text("INSERT INTO item (code) VALUES ('e')"))
            raise RuntimeError
    assert _stat_rows(engine, "item") == [("ix_item_code", "5 1")]
    database.dispose()


def test_units_of_work_that_only_read_do_not_count(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'stats.db'}")
    engine = database.engine
    with database.session(write=True) as session:
        session.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, code TEXT)"))
        session.execute(text("CREATE INDEX ix_item_code ON item (code)"))
        session.execute(text("INSERT INTO item (code) VALUES ('a'), ('b')"))
    statistics.keep_fresh(engine, every=2)
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO item (code) VALUES ('c')"))
    for _ in range(3):
        with database.session(write=False) as session:  # commits, but wrote nothing
            session.execute(text("SELECT count(*) FROM item"))
    assert _stat_rows(engine, "item") == [("ix_item_code", "2 1")]
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO item (code) VALUES ('d')"))
    with database.session(write=False) as session:  # the refresh runs when a connection goes back to the pool
        session.execute(text("SELECT count(*) FROM item"))
    assert _stat_rows(engine, "item") == [("ix_item_code", "4 1")]
    database.dispose()


def test_a_locked_database_leaves_the_refresh_for_later(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=statistics.__name__)
    engine = create_engine(f"sqlite:///{tmp_path / 'locked.db'}", connect_args={"timeout": 0})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    other = create_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    with other.connect() as holder:
        holder.exec_driver_sql("BEGIN EXCLUSIVE")
        with engine.connect() as connection:
            statistics.analyze(connection.connection.dbapi_connection)  # does not raise
        holder.rollback()
    assert "not refreshed" in caplog.text
    engine.dispose()
    other.dispose()


def test_enqueue_supersedes_through_the_claim_and_status_index(sqlite_only, runtime):
    seen = []

    def remember(_conn, _cursor, statement, parameters, *_):
        if statement.lstrip().upper().startswith("UPDATE CLAIM_JOB"):
            seen.append((statement, parameters))

    event.listen(runtime.database.engine, "before_cursor_execute", remember)
    try:
        with runtime.store.unit_of_work() as uow:
            for n in range(50):
                JobQueue(uow.session).enqueue(f"claim-{n}", 1, "t", "submit")
            JobQueue(uow.session).enqueue("claim-7", 2, "t", "submit")
            [(statement, parameters)] = seen[-1:]
            plan = uow.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            assert JobQueue(uow.session).latest_for_claim("claim-7", "t").claim_version == 2
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", remember)
    assert "ix_claim_job_claim_status" in " ".join(row[-1] for row in plan), plan
