"""PostgreSQL's pooled connections (`store/db.py`, issue 17): a read runs without a transaction of its own, so
nothing rolls back and psycopg keeps the statements it prepared, and its connection goes back to the pool out of
autocommit (or not at all); a pooled connection is pinged only when its server
has ended it (or said something since), and one the server ended is replaced without the caller seeing an error.
Run against the real server CI starts (FHIRCLAIM_DATABASE_URL); skipped on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from fhirclaim.store import execution
from fhirclaim.store.models import ResourceRow

_RESOURCE = ResourceRow.__table__
_BY_ID = select(_RESOURCE.c.logical_id).where(_RESOURCE.c.resource_type == "Patient")


@pytest.fixture
def postgres(database):
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: set FHIRCLAIM_DATABASE_URL to a PostgreSQL server")
    return database


@pytest.fixture
def pings(postgres, monkeypatch) -> list[object]:
    """The pings the pool's checkout sends (the dialect's own `do_ping`, still called)."""
    sent: list[object] = []
    ping = postgres.engine.dialect.do_ping

    def counted(dbapi_connection):
        sent.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(postgres.engine.dialect, "do_ping", counted)
    return sent


def _backend(database) -> int:
    with database.reading() as read:
        return execution.execute_unflushed(read, select(text("pg_backend_pid()"))).scalar_one()


def _terminate(database, pid: int) -> None:
    """End a backend as an administrator (or a restart) would, and wait until it is gone."""
    admin = create_engine(database.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            while connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                     {"pid": pid}).scalar_one():
                connection.execute(text("SELECT pg_sleep(0.01)"))  # a condition, polled: the backend has exited
    finally:
        admin.dispose()


def test_a_read_leaves_no_transaction_open_and_keeps_what_psycopg_prepared(postgres):
    for _ in range(8):  # psycopg prepares a statement from its sixth run on a connection
        with postgres.reading() as read:
            assert execution.execute_unflushed(read, _BY_ID).all() == []
            assert read.driver_connection.info.transaction_status.name == "IDLE"  # no BEGIN was sent
    with postgres.reading() as read:  # the same pooled connection: nothing rolled back, nothing deallocated
        prepared = execution.execute_unflushed(read, select(text("count(*) FROM pg_prepared_statements")))
        assert prepared.scalar_one() >= 1
    assert postgres.engine.pool.checkedout() == 0


def test_a_quiet_pooled_connection_is_not_pinged(postgres, pings):
    first = _backend(postgres)
    for _ in range(20):
        with postgres.reading() as read:
            execution.execute_unflushed(read, _BY_ID).all()
        with postgres.session(write=True) as write:
            execution.execute(write, _BY_ID).all()
    assert _backend(postgres) == first  # the same connection all along
    assert pings == []


def test_a_connection_the_server_ended_is_replaced_before_anyone_uses_it(postgres, pings):
    first = _backend(postgres)
    _terminate(postgres, first)
    second = _backend(postgres)  # no error: the checkout pinged, the ping failed, the pool connected anew
    assert second != first
    assert len(pings) == 1
    _terminate(postgres, second)
    with postgres.session(write=True) as write:  # a write's checkout too
        execution.execute(write, _BY_ID).all()
    assert len(pings) == 2
    assert _backend(postgres) not in (first, second)


def test_a_read_returns_its_connection_to_the_pool_out_of_autocommit(postgres):
    """A read switches the driver's connection to autocommit itself (`Database.reading`); the write that checks
    the same connection out next is one transaction again: a failure in it leaves nothing behind."""
    with postgres.reading() as read:
        assert read.driver_connection.autocommit is True
        used = read.driver_connection
    with pytest.raises(RuntimeError):
        with postgres.session(write=True) as write:
            assert write.driver_connection is used and used.autocommit is False
            write.connection().execute(text("CREATE TEMPORARY TABLE left_behind (n int)"))
            raise RuntimeError("the write fails after its first statement")
    with postgres.reading() as read:
        assert read.driver_connection is used
        exists = "count(*) FROM pg_class WHERE relname = 'left_behind' AND relpersistence = 't'"
        assert execution.execute_unflushed(read, select(text(exists))).scalar_one() == 0  # rolled back


def test_a_read_whose_connection_cannot_leave_autocommit_is_not_pooled(postgres):
    """A transaction begun by hand inside a read (nothing should, but nothing stops a raw BEGIN) keeps the driver
    in autocommit: the connection is discarded rather than pooled as it is."""
    with postgres.reading() as read:
        broken = read.driver_connection
        broken.execute("BEGIN")
    assert broken.closed
    with postgres.reading() as read:
        assert read.driver_connection is not broken and read.driver_connection.autocommit is True
    with postgres.session(write=True) as write:
        assert write.driver_connection.autocommit is False
    assert postgres.engine.pool.checkedout() == 0
