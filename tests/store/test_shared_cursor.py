"""A transaction held without an ORM session runs its prebuilt statements on one driver cursor, made at its first
statement and closed with it (`transactions.OnConnection.cursor`, issue 17); a refused statement leaves it usable
for the rest of the transaction; a session of its own (an ORM session's transaction) still gets one per statement."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, event, insert, select

from fhirclaim.store import execution
from fhirclaim.store.db import ConstraintViolation
from fhirclaim.store.models import ResourceRow
from fhirclaim.store.scope import SHARED_PARTITION

_RESOURCE = ResourceRow.__table__
_INSERT = insert(_RESOURCE).returning(_RESOURCE.c.pk)
_IDS = select(_RESOURCE.c.logical_id).where(_RESOURCE.c.resource_type == bindparam("type"))


def _row(logical_id: str) -> dict:
    return {"partition": SHARED_PARTITION, "resource_type": "Patient", "logical_id": logical_id, "version_id": 1,
            "last_updated": datetime(2026, 12, 4), "deleted": False, "tenant": None, "content": "{}"}


@pytest.fixture
def cursors(database) -> list:
    """The driver cursor of each INSERT and SELECT, as the engine's listeners see it (not the savepoints', which
    SQLAlchemy runs on cursors of its own)."""
    seen: list = []

    def listener(_connection, cursor, statement, *_):
        if statement.startswith(("INSERT", "SELECT")):
            seen.append(cursor)

    event.listen(database.engine, "before_cursor_execute", listener)
    yield seen
    event.remove(database.engine, "before_cursor_execute", listener)


def test_a_writes_statements_share_one_cursor_closed_with_its_transaction(database, cursors):
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        with pytest.raises(ConstraintViolation), session.begin_nested():  # refused: the cursor stays open
            execution.execute(session, _INSERT, _row("p1"))
        execution.execute(session, _INSERT, _row("p2"))
        assert sorted(execution.execute(session, _IDS, {"type": "Patient"}).scalars()) == ["p1", "p2"]
        assert len(cursors) == 4 and len({id(cursor) for cursor in cursors}) == 1
        assert not _closed(cursors[0])
    assert _closed(cursors[0])


def test_a_reads_statements_share_one_cursor_closed_with_it(database, cursors):
    with database.reading() as read:
        for _ in range(3):
            assert execution.execute(read, _IDS, {"type": "Patient"}).all() == []
    assert len(cursors) == 3 and len({id(cursor) for cursor in cursors}) == 1 and _closed(cursors[0])


def test_an_orm_sessions_transaction_gets_a_cursor_per_statement(database, cursors):
    with database.session(write=False) as session:
        for _ in range(2):
            assert execution.execute(session, _IDS, {"type": "Patient"}).all() == []
    assert len(cursors) == 2 and cursors[0] is not cursors[1] and all(_closed(cursor) for cursor in cursors)


def _closed(cursor) -> bool:
    """psycopg's cursors say whether they are closed; sqlite3's refuse a statement once they are."""
    if hasattr(cursor, "closed"):
        return cursor.closed
    try:
        cursor.execute("SELECT 1")
    except Exception as error:  # sqlite3.ProgrammingError: Cannot operate on a closed cursor
        return "closed cursor" in str(error)
    return False
