"""A write's version and index rows in one round trip on PostgreSQL (`execution.pipelined`, issue 17): counted on
the real server's wire protocol (libpq's trace of the connection), and a refused row of the block raised by the
same call as before, as `ConstraintViolation`, with nothing of the write kept. On SQLite the same block runs its
statements one by one: the same answers and the same errors. And an audit row asks nothing back."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from fhirclaim.fhir.indexing import index_resource
from fhirclaim.store import execution
from fhirclaim.store.audit_log import AuditLog, AuditLogRow
from fhirclaim.store.db import ConstraintViolation
from fhirclaim.store.models import INDEX_TABLES, ResourceRow
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import SYSTEM

from pipelinekit import (
    INSERT_VERSION,
    VERSION,
    WHEN,
    count_rows,
    round_trips,
    send_a_refused_row,
    version_row,
    write_version,
)

_CLAIM = {"resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-12-01",
          "identifier": [{"system": "http://hospital.example/claim", "value": "CLM-1"}],
          "patient": {"reference": "Patient/p0"}, "provider": {"reference": "Organization/rs"}}


@pytest.fixture
def postgres(database):
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: set FHIRCLAIM_DATABASE_URL to a PostgreSQL server")
    return database


def test_a_create_sends_its_version_and_index_rows_in_one_round_trip(postgres, tmp_path):
    kinds = {entry.kind for entry in index_resource(_CLAIM, "UTC")}
    assert len(kinds) == 3  # date, token, reference: one executemany each, one round trip each before
    for n in range(8):  # psycopg prepares a statement at its sixth run on a connection: a round trip of its own
        with postgres.session(write=True) as session:
            SqlResourceRepository(session).create(_CLAIM, resource_id=f"warm-{n}")
    with postgres.session(write=True) as session:
        repository = SqlResourceRepository(session)
        repository.exists("Claim", "c1")  # begins the transaction: psycopg's BEGIN is a round trip of its own
        resource_id = repository.new_id()
        with round_trips(session.driver_connection, tmp_path / "create.trace") as waits:
            repository.create(_CLAIM, resource_id=resource_id)
        assert waits == ["Sync", "Sync"]  # the resource row (its key returned), then the block; 5 before
        with round_trips(session.driver_connection, tmp_path / "update.trace") as waits:
            repository.update({**_CLAIM, "id": resource_id, "status": "cancelled"})
        # the current row, its UPDATE, then the version row, six index DELETEs and three INSERTs together
        assert waits == ["Sync", "Sync", "Sync"]
    with postgres.reading() as read:
        assert count_rows(read, VERSION, logical_id=resource_id) == 2
        assert count_rows(read, INDEX_TABLES["token"].__table__, code="cancelled") == 1
        assert count_rows(read, INDEX_TABLES["token"].__table__, code="active") == 8  # the warm-up's, not this one's


def test_a_refused_version_row_is_raised_by_create_and_nothing_of_the_write_is_kept(database):
    with pytest.raises(ConstraintViolation) as refused, database.session(write=True) as session:
        repository = SqlResourceRepository(session)
        resource_id = repository.new_id()
        execution.execute(session, INSERT_VERSION, version_row(resource_id))  # the new resource's version 1 taken
        with pytest.raises(ConstraintViolation) as raised_by_create:  # by the call whose block it was, not later
            repository.create(_CLAIM, resource_id=resource_id)
        raise raised_by_create.value
    assert "resource_version" in str(refused.value)
    with database.reading() as read:
        assert count_rows(read, ResourceRow.__table__) == 0  # the resource row, written before the block: rolled back
        assert sum(count_rows(read, table.__table__) for table in INDEX_TABLES.values()) == 0
        assert count_rows(read, VERSION) == 0


def test_a_refused_row_of_a_block_is_raised_when_the_block_ends_and_the_transaction_is_rolled_back(database):
    write_version(database, "c1")
    after_the_refused_row: list[bool] = []
    with pytest.raises(ConstraintViolation), database.session(write=True) as session:
        with execution.pipelined(session):
            send_a_refused_row(session, execution.execute)
            after_the_refused_row.append(True)  # sent, not yet answered, where the block is pipelined
            execution.execute(session, INSERT_VERSION, version_row("c3"))
    assert after_the_refused_row == ([] if database.is_sqlite else [True])
    with database.reading() as read:
        assert sorted(read.execute(select(VERSION.c.logical_id)).scalars()) == ["c1"]


def test_a_block_refuses_what_it_cannot_answer_before_its_end(postgres):
    with postgres.session(write=True) as session:
        with execution.pipelined(session):
            sent = execution.execute(session, INSERT_VERSION, [version_row("c1"), version_row("c2", 1)])
            with pytest.raises(RuntimeError, match="row count"):
                _ = sent.rowcount
            with pytest.raises(RuntimeError, match="answers"):
                execution.execute(session, select(VERSION.c.logical_id).where(VERSION.c.version_id == 1))
        rows = execution.execute(session, select(VERSION.c.logical_id).where(VERSION.c.version_id == 1))
        assert sorted(rows.scalars()) == ["c1", "c2"]  # the block's rows, answered when it ended


def test_an_audit_row_is_inserted_without_asking_for_its_key(database):
    """An AuditEvent's row is written and never read back in its transaction: PostgreSQL is not asked to return the
    key it generated (a column description and a row to parse, for nothing)."""
    statements: list[str] = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement)  # noqa: E731
    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.session(write=True) as session:
            AuditLog(session, SYSTEM).append({"resourceType": "AuditEvent", "action": "C"}, "a1", None, WHEN)
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    assert [s.split()[:3] for s in statements] == [["INSERT", "INTO", "audit_log"]]
    assert "RETURNING" not in statements[0].upper()
    with database.reading() as read:
        assert read.execute(select(AuditLogRow.logical_id)).scalars().all() == ["a1"]
