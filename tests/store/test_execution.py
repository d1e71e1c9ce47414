"""Statements compiled once and run on the DBAPI cursor (`store/execution.py`, issue 17): the same answers, types,
transaction, errors and listeners as SQLAlchemy's own execution, on SQLite and PostgreSQL; and no connection event
listener of the store's own on the engine (each would make every statement dispatch events)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, event, exc, insert, select, text

from fhirclaim.store import execution
from fhirclaim.store.models import ResourceRow, TokenIndex
from fhirclaim.store.scope import SHARED_PARTITION, tenant_scope

_RESOURCE = ResourceRow.__table__
_INSERT = insert(_RESOURCE).returning(_RESOURCE.c.pk)
_ROWS = select(_RESOURCE.c.pk, _RESOURCE.c.last_updated, _RESOURCE.c.deleted, _RESOURCE.c.tenant).where(
    _RESOURCE.c.logical_id == bindparam("logical_id")).order_by(_RESOURCE.c.pk)
_IN_PARTITIONS = select(_RESOURCE.c.logical_id).where(
    _RESOURCE.c.partition.in_(("rs-a", SHARED_PARTITION)), _RESOURCE.c.resource_type == bindparam("type"))
_GIVEN_IDS = select(_RESOURCE.c.logical_id).where(_RESOURCE.c.logical_id.in_(bindparam("ids", expanding=True)))
_INSERT_TOKEN = insert(TokenIndex.__table__)
_WHEN = datetime(2026, 12, 3, 17, 30, 1, 250000)


def _row(logical_id: str, partition: str = "rs-a") -> dict:
    return {"partition": partition, "resource_type": "Patient", "logical_id": logical_id, "version_id": 1,
            "last_updated": _WHEN, "deleted": False, "tenant": None if partition == SHARED_PARTITION else partition,
            "content": "{}"}


def test_answers_and_types_are_sqlalchemys(database):
    with database.session(write=True) as session:
        pk = execution.execute(session, _INSERT, _row("p1")).scalar_one()
        execution.execute(session, _INSERT, _row("p1", SHARED_PARTITION))
        fast = execution.execute(session, _ROWS, {"logical_id": "p1"}).all()
        slow = session.execute(_ROWS, {"logical_id": "p1"}).all()
    assert [tuple(r) for r in fast] == [tuple(r) for r in slow]
    assert fast[0].pk == pk and fast[0].last_updated == _WHEN and fast[0].deleted is False
    assert fast[1].tenant is None


def test_constant_in_lists_run_on_the_cursor_and_given_ones_the_long_way(database):
    with database.session(write=True) as session:
        for logical_id, partition in (("a", "rs-a"), ("b", "rs-b"), ("s", SHARED_PARTITION)):
            execution.execute(session, _INSERT, _row(logical_id, partition))
        seen = execution.execute(session, _IN_PARTITIONS, {"type": "Patient"})
        assert isinstance(seen, execution.Rows) and sorted(r.logical_id for r in seen) == ["a", "s"]
        given = execution.execute(session, _GIVEN_IDS, {"ids": ["a", "b", "x"]})
        assert not isinstance(given, execution.Rows) and sorted(r.logical_id for r in given) == ["a", "b"]


def test_a_scope_naming_its_partition_reads_through_the_cursor(database):
    from fhirclaim.store.repository import SqlResourceRepository

    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        execution.execute(session, _INSERT, _row("p1", "rs-b"))
        found = SqlResourceRepository(session, tenant_scope("rs-a").within("rs-a")).find("Patient", "p1")
    assert (found.tenant, found.last_updated) == ("rs-a", _WHEN)


def test_index_rows_of_one_kind_are_one_executemany_in_the_sessions_transaction(database):
    statements = []
    listener = lambda _c, _cur, statement, params, _ctx, many: statements.append((statement.split()[0], many))  # noqa: E731
    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(RuntimeError), database.session(write=True) as session:
            pk = execution.execute(session, _INSERT, _row("p1")).scalar_one()
            rows = [{"resource_pk": pk, "resource_type": "Patient", "param": "identifier", "system": "s",
                     "code": f"c{n}"} for n in range(3)]
            assert execution.execute(session, _INSERT_TOKEN, rows).rowcount == 3
            assert session.execute(text("SELECT count(*) FROM idx_token")).scalar_one() == 3
            raise RuntimeError  # rolled back with the session's transaction
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    assert ("INSERT", True) in statements  # the listeners still see every statement
    with database.reading() as session:
        assert session.execute(text("SELECT count(*) FROM idx_token")).scalar_one() == 0


def test_a_refused_insert_is_sqlalchemys_integrity_error_and_the_transaction_goes_on(database):
    statements = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement.split()[0])  # noqa: E731
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        event.listen(database.engine, "before_cursor_execute", listener)
        try:
            with pytest.raises(exc.IntegrityError), session.begin_nested():
                execution.execute(session, _INSERT, _row("p1"))
        finally:
            event.remove(database.engine, "before_cursor_execute", listener)
        assert statements == ["SAVEPOINT", "INSERT", "ROLLBACK"]  # the held connection still begins the savepoint
        assert len(execution.execute(session, _ROWS, {"logical_id": "p1"}).all()) == 1


def test_the_store_puts_no_connection_event_listener_on_its_engine(database):
    assert not database.engine._has_events


def test_sqlite_writes_begin_immediate_and_reads_deferred(database):
    if not database.is_sqlite:
        pytest.skip("SQLite's BEGIN modes")
    said: list[str] = []
    trace = lambda dbapi_connection, _record, _proxy: dbapi_connection.set_trace_callback(said.append)  # noqa: E731
    event.listen(database.engine, "checkout", trace)
    try:
        with database.session(write=True) as session:
            session.execute(text("SELECT 1"))
        with database.reading() as session:
            session.execute(text("SELECT 2"))
        with database.session(write=False) as session:
            session.execute(text("SELECT 3"))
    finally:
        event.remove(database.engine, "checkout", trace)
    assert [s for s in said if s.startswith(("BEGIN", "SELECT"))] == [
        "BEGIN IMMEDIATE", "SELECT 1", "BEGIN DEFERRED", "SELECT 2", "BEGIN DEFERRED", "SELECT 3"]


_TIMES = [datetime(2026, 12, 3, 17, 30, 1, 250000), datetime(2026, 12, 3, 17, 30, 1), datetime(987, 1, 2, 3, 4, 5, 6),
          datetime(2026, 12, 3, 17, 30, 1, 7, tzinfo=timezone(timedelta(hours=7))), date(2026, 12, 3), None]


@pytest.mark.parametrize("when", _TIMES, ids=str)
def test_a_statements_values_are_sqlalchemys_bound_values(database, when):
    """The driver's parameters of a prebuilt statement (its values taken in one call, a datetime's text on SQLite
    by `isoformat`) are what SQLAlchemy's own bind processors make of the same row, datetimes of every kind too."""
    row = {**_row("p1"), "last_updated": when}
    with database.session(write=True) as session:
        plan = execution._plan(session.connection(), _INSERT, row, False)
        dialect = session.connection().dialect
    compiled = _INSERT.compile(dialect=dialect, column_keys=list(row))
    processors = compiled._bind_processors
    expected = {name: (processors[name](row[bind.key]) if name in processors else row[bind.key])
                for bind, name in compiled.bind_names.items()}
    values = plan.values(row)
    by_name = dict(zip((bind[0] for bind in plan.binds), values, strict=True)) if plan.positional else values
    assert by_name == expected
    if database.is_sqlite and isinstance(when, datetime) and when.tzinfo is None:
        assert by_name["last_updated"] == (f"{when.year:04d}-{when.month:02d}-{when.day:02d} {when.hour:02d}:"
                                           f"{when.minute:02d}:{when.second:02d}.{when.microsecond:06d}")


def test_a_datetime_is_stored_as_sqlalchemy_stores_it(database):
    """Written through the prebuilt statement or through SQLAlchemy, a naive datetime is the same stored value (the
    text a `date=` or `_lastUpdated` search compares, on SQLite), and comes back the same."""
    when = _TIMES[1]  # a whole second: SQLAlchemy's text still has its .000000
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, {**_row("fast"), "last_updated": when})
        session.execute(_INSERT, {**_row("slow"), "last_updated": when})
        stored = dict(session.execute(text("SELECT logical_id, CAST(last_updated AS TEXT) FROM resource")).all())
        read = execution.execute(session, _ROWS, {"logical_id": "fast"}).one()
    assert stored["fast"] == stored["slow"]
    assert read.last_updated == when
