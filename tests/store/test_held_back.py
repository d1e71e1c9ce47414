"""A write's listeners' rows held back and sent together (`execution.held_back`, `execute_later`, issue 17): on
PostgreSQL a client's create sends its AuditEvent, its job and its worklist line with the Subscription epoch's SELECT
in one round trip, counted on the real server's wire protocol (libpq's trace); a refused held-back row fails the
call that sent it, as `ConstraintViolation`, and nothing of the write is kept, even where someone catches the
error; what runs in between (a statement, an ORM session's query) finds them sent. On SQLite the same statements
run at once: the same answers and the same errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fhirclaim.store import execution
from fhirclaim.store.db import ConstraintViolation
from fhirclaim.store.scope import tenant_scope

from pipelinekit import (
    INSERT_VERSION,
    TENANT,
    VERSION,
    claim,
    count_rows,
    listeners_rows,
    round_trips,
    send_a_refused_row,
    version_row,
    write_claims_targets,
    write_version,
)

_COUNT = select(func.count()).select_from(VERSION)


def test_a_create_sends_its_listeners_rows_with_the_epochs_select(runtime, tmp_path):
    if runtime.database.is_sqlite:
        pytest.skip("PostgreSQL only: set FHIRCLAIM_DATABASE_URL to a PostgreSQL server")
    write_claims_targets(runtime)
    for n in range(8):  # psycopg prepares a statement at its sixth run on a connection: a round trip of its own
        with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
            runtime.services.for_caller(uow, "facility:test").create(claim(n))
    with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        with round_trips(uow.session.driver_connection, tmp_path / "create.trace") as waits:
            stored, _ = runtime.services.for_caller(uow, "facility:test").create(claim(99))
            uow.session.commit()  # what the unit of work's end does (its own commit then finds nothing begun)
    # BEGIN (a Query); the references; the resource row (its key returned); its version and index rows, the
    # AuditEvent, the job and the worklist line with the epoch's SELECT (five round trips before); COMMIT (a Query)
    assert waits == ["Query", "Sync", "Sync", "Sync", "Query"]
    assert listeners_rows(runtime.database, stored.id) == (["queued"], [stored.id], [stored.id])


def test_held_back_rows_go_before_the_next_statement_and_it_sees_them(database):
    with database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, INSERT_VERSION, version_row("c1"))
            execution.execute_later(session, INSERT_VERSION, [version_row("c2"), version_row("c3")])
            held = len(session.later or ())
            assert execution.execute(session, _COUNT).scalar_one() == 3
            execution.execute_later(session, INSERT_VERSION, version_row("c4"))
        assert held == (0 if database.is_sqlite else 2)  # SQLite: run at once
        assert execution.execute(session, _COUNT).scalar_one() == 4  # the block's end sent the last
    with database.reading() as read:
        assert count_rows(read, VERSION) == 4


def test_an_orm_sessions_query_finds_the_held_back_rows_sent(database):
    with database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, INSERT_VERSION, version_row("c1"))
            assert session.execute(_COUNT).scalar_one() == 1  # through the ORM session made here
            execution.execute_later(session, INSERT_VERSION, version_row("c2"))  # runs at once: an ORM session now
            assert session.execute(_COUNT).scalar_one() == 2


def test_a_refused_held_back_row_fails_the_next_statement_and_nothing_is_kept(database):
    write_version(database, "c1")
    with pytest.raises(ConstraintViolation) as refused, database.session(write=True) as session:
        with execution.held_back(session):
            send_a_refused_row(session, execution.execute_later)
            execution.execute(session, _COUNT)
    assert "resource_version" in str(refused.value)
    with database.reading() as read:
        assert count_rows(read, VERSION) == 1  # c2, sent with the refused row, is rolled back with it


def test_a_refused_held_back_row_caught_by_someone_still_fails_the_commit(database):
    write_version(database, "c1")
    caught: list[type] = []
    with pytest.raises(ConstraintViolation), database.session(write=True) as session:
        with execution.held_back(session):
            send_a_refused_row(session, execution.execute_later)
            try:
                execution.execute(session, _COUNT)
            except ConstraintViolation as error:  # as a listener's own `except` around its statement might
                caught.append(type(error))
    assert caught == ([] if database.is_sqlite else [ConstraintViolation])  # SQLite: raised by the INSERT itself
    with database.reading() as read:
        assert count_rows(read, VERSION) == 1


def test_a_refused_row_held_back_to_the_blocks_end_is_raised_there(database):
    write_version(database, "c1")
    reached_the_end: list[bool] = []
    with pytest.raises(ConstraintViolation), database.session(write=True) as session:
        with execution.held_back(session):
            send_a_refused_row(session, execution.execute_later)
            reached_the_end.append(True)  # PostgreSQL: not yet sent
    assert reached_the_end == ([] if database.is_sqlite else [True])
    with database.reading() as read:
        assert count_rows(read, VERSION) == 1


def test_a_block_that_raises_sends_nothing_it_held_back(database):
    with pytest.raises(ValueError), database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, INSERT_VERSION, version_row("c1"))
            raise ValueError("a listener refused the write")
    with database.reading() as read:
        assert count_rows(read, VERSION) == 0


def test_a_pipelined_block_in_a_held_back_block_is_held_back_with_its_rows(database):
    """Its statements join what the outer block holds, in order, and go with the next statement that needs an
    answer (here the count, which sees them) or when the outer block ends; a refused one fails that statement."""
    write_version(database, "c1")
    held = []
    with pytest.raises(ConstraintViolation), database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, INSERT_VERSION, version_row("c2"))
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, version_row("c1"))  # taken: refused
            held.append(len(session.later or ()))
            execution.execute(session, _COUNT)
    assert held == ([] if database.is_sqlite else [2])  # SQLite: each ran at once, the refused one raised there
    with database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, INSERT_VERSION, version_row("c3"))
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, version_row("c4"))
            assert len(session.later or ()) == (0 if database.is_sqlite else 2)  # not sent with the inner block
            assert execution.execute(session, _COUNT).scalar_one() == 3
            execution.execute_later(session, INSERT_VERSION, version_row("c5"))
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, version_row("c6"))
        assert not session.later  # the outer block's end sent them
        assert [r.logical_id for r in session.execute(select(VERSION.c.logical_id)
                                                      .order_by(VERSION.c.logical_id))] == ["c1", "c3", "c4", "c5",
                                                                                            "c6"]
    with database.reading() as read:
        assert count_rows(read, VERSION) == 5


def test_a_refused_pipelined_row_rolled_back_with_its_savepoint_leaves_the_write_to_commit(database):
    """A batch entry's: its savepoint undoes the refusal, and the rest of the write commits."""
    write_version(database, "c1")
    with database.session(write=True) as session:
        execution.execute(session, INSERT_VERSION, version_row("c2"))
        with pytest.raises(ConstraintViolation), session.begin_nested():
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, version_row("c1"))
        execution.execute(session, INSERT_VERSION, version_row("c3"))
    with database.reading() as read:
        assert count_rows(read, VERSION) == 3
