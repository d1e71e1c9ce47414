"""A write's transaction without an ORM session unless one is asked for (`store/transactions.py`, issue 17):
what the prebuilt statements, an ORM session joined later and its savepoints write commits together or not at
all, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import event, exc, insert, select
from sqlalchemy.orm import Session

from fhirclaim.store import execution
from fhirclaim.store.access import ClientRow
from fhirclaim.store.db import WRITER_LOCK, Database, beside_sqlite_file
from fhirclaim.store.models import ResourceRow
from fhirclaim.store.transactions import WriterTurn

from testkit import authorized

_RESOURCE = ResourceRow.__table__
_INSERT = insert(_RESOURCE).returning(_RESOURCE.c.pk)
_WHEN = datetime(2026, 12, 4, 9, 0, 0)


def _row(logical_id: str) -> dict:
    return {"partition": "rs-a", "resource_type": "Patient", "logical_id": logical_id, "version_id": 1,
            "last_updated": _WHEN, "deleted": False, "tenant": "rs-a", "content": "{}"}


def _client() -> ClientRow:
    return ClientRow(client_id="c1", secret_hash="x", role="facility", org="rs-a", name="SIMRS", created_at=_WHEN,
                     disabled=False)


def _stored(database) -> tuple[list[str], list[str]]:
    with database.reading() as read:
        patients = read.execute(select(_RESOURCE.c.logical_id).order_by(_RESOURCE.c.logical_id)).scalars().all()
        clients = read.execute(select(ClientRow.client_id)).scalars().all()
    return patients, clients


def test_prebuilt_statements_an_orm_session_and_its_savepoints_commit_together(database):
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        assert session.orm_session is None  # the prebuilt statement needed the connection only
        session.add(_client())  # an ORM session joins the transaction, flushed before the next statement
        with pytest.raises(exc.IntegrityError), session.begin_nested():
            execution.execute(session, _INSERT, _row("p1"))  # a duplicate: only the savepoint is rolled back
        execution.execute(session, _INSERT, _row("p2"))
        assert session.orm_session is not None
    assert _stored(database) == (["p1", "p2"], ["c1"])
    assert database.engine.pool.checkedout() == 0


@pytest.mark.parametrize("with_orm", [False, True])
def test_a_write_that_raises_commits_nothing(database, with_orm):
    with pytest.raises(RuntimeError), database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        if with_orm:
            session.add(_client())
            session.flush()
        raise RuntimeError
    assert _stored(database) == ([], [])
    assert database.engine.pool.checkedout() == 0
    if database.is_sqlite:  # and SQLite's writer is free for the next write (`WriterTurn`)
        assert not database._writer_turn.held


def test_a_read_before_the_write_begins_runs_alone_on_sqlite_only(database):
    with database.session(write=True) as session:
        unbegun = session.unbegun()
        assert (unbegun is session.bind) if database.is_sqlite else unbegun is None
        execution.execute(session, _INSERT, _row("p1"))
        assert session.unbegun() is None  # begun by the write's first statement
    assert _stored(database) == (["p1"], [])


def test_a_fhir_create_makes_no_orm_session(app, runtime):
    """POST of a Claim's whole path (token, validation, reference check, resource, index, audit, worklist, job):
    prebuilt statements on the write's connection, no ORM session begun."""
    client = authorized(app)
    assert client.put("/Patient/p1", {"resourceType": "Patient", "id": "p1"}).status_code == 201
    begun: list[Session] = []
    listener = lambda session, _transaction, _connection: begun.append(session)  # noqa: E731
    event.listen(Session, "after_begin", listener)
    try:
        answer = client.post("/Claim", _claim())
    finally:
        event.remove(Session, "after_begin", listener)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert begun == []
    with runtime.store.unit_of_work(write=False) as uow:
        assert uow.worklist.get("10000004", answer.get_json()["id"]) is not None


def test_a_new_version_needs_no_orm_session_and_expires_what_one_loaded(runtime):
    """The repository's update looks for an ORM-loaded copy of the row only where an ORM session was made."""
    with runtime.store.unit_of_work() as uow:
        uow.resources.create({"resourceType": "Patient", "id": "p1"}, resource_id="p1")
    with runtime.store.unit_of_work() as uow:
        stored, _ = uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "male"})
        assert stored.version_id == 2 and uow.session.orm_session is None
        loaded = uow.session.execute(select(ResourceRow).where(ResourceRow.logical_id == "p1")).scalar_one()
        uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "female"})
        assert loaded.version_id == 3 and '"female"' in loaded.content  # expired, read again
    with runtime.store.unit_of_work(write=False) as uow:
        assert uow.resources.find("Patient", "p1").content["gender"] == "female"


def _claim() -> dict:
    return {"resourceType": "Claim", "status": "active", "use": "claim", "type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": "Patient/p1"}, "created": "2026-12-04", "provider": {"display": "RSUD"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "JKN"}}]}


def test_a_read_transaction_writes_nothing(database):
    """A read's transaction refuses a write (on PostgreSQL its statements autocommit: none may write)."""
    with database.reading() as read:
        with pytest.raises(RuntimeError, match="writes nothing"):
            execution.execute_unflushed(read, _INSERT, _row("p1"))  # a prebuilt statement
        with pytest.raises(RuntimeError, match="writes nothing"):
            read.execute(insert(_RESOURCE).values(**_row("p2")))  # through its ORM session
        read.add(_client())
        with pytest.raises(RuntimeError, match="writes nothing"):
            read.execute(select(ClientRow.client_id))  # the ORM session's autoflush
        read.expunge_all()
        assert execution.execute_unflushed(read, select(_RESOURCE.c.logical_id)).all() == []  # reads still run
    assert _stored(database) == ([], [])


def _sqlite_only(database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's one writer; PostgreSQL's writes run side by side")


def test_a_second_writer_of_the_process_waits_its_turn_not_in_sqlites_busy_handler(database):
    """While one thread's write transaction is open, another thread's write waits on the process's writer turn
    (`WriterTurn`): given a turn that gives up after 0.2 s, it fails saying so, where SQLite's busy handler would
    have slept and retried for its 60 s. The first write is untouched."""
    _sqlite_only(database)
    database._writer_turn = WriterTurn(0.2)
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with database.session(write=True) as other:
                execution.execute(other, _INSERT, _row("p2"))
        except exc.OperationalError as error:
            failed.append(error)

    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))  # begun: the turn is this thread's
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(failed) == 1 and "another write of this process held it past 0.2 s" in str(failed[0])
    assert _stored(database) == (["p1"], [])
    assert database.engine.pool.checkedout() == 0


def test_the_waiting_writer_goes_on_as_the_first_commits(database):
    _sqlite_only(database)
    began, waiting = threading.Event(), threading.Event()
    done: list[str] = []

    def second() -> None:
        began.wait()
        with database.session(write=True) as other:
            waiting.set()
            execution.execute(other, _INSERT, _row("p2"))  # waits for the first's commit
        done.append("p2")

    thread = threading.Thread(target=second)
    thread.start()
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
        began.set()
        waiting.wait()
        assert done == []  # it cannot have written: the turn is still this thread's
    thread.join()
    assert done == ["p2"]
    assert _stored(database) == (["p1", "p2"], [])


def test_a_write_that_never_began_takes_no_turn(database):
    """A write unit of work that only read before its first statement (the token check) never held the writer."""
    _sqlite_only(database)
    turn = database._writer_turn = WriterTurn(0.2)
    with database.session(write=True) as session:
        session.unbegun().exec_driver_sql("SELECT 1")
        assert not turn.held
    assert not turn.held


def test_another_processs_write_waits_for_the_turn_on_the_lock_file(database):
    """Processes on one SQLite file take the writer turn by `flock` on `<database>-writer.lock`, not in SQLite's
    busy handler: a second `Database` on the file (its own descriptor of the lock file, as another process has)
    waits while this one's write is open. Given a turn that gives up after 0.2 s, it fails saying whose write held
    it (SQLite's busy handler would have slept and retried for 60 s); once the first commits, it writes."""
    _sqlite_only(database)
    other = Database(database.url)
    other._writer_turn.timeout_seconds = 0.2
    try:
        with database.session(write=True) as session:
            execution.execute(session, _INSERT, _row("p1"))
            with pytest.raises(exc.OperationalError, match="another process's write held it past 0.2 s"):
                with other.session(write=True) as theirs:
                    execution.execute(theirs, _INSERT, _row("p2"))
        with other.session(write=True) as theirs:
            execution.execute(theirs, _INSERT, _row("p2"))
    finally:
        other.dispose()
    assert _stored(database) == (["p1", "p2"], [])
    assert stat.S_IMODE(os.stat(beside_sqlite_file(database.url, WRITER_LOCK)).st_mode) == 0o600


_HOLD_THE_TURN = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until killed
"""


def test_a_process_killed_while_it_holds_the_turn_leaves_it_free(database):
    """The kernel frees a `flock` when its process ends, a crash included: no turn is left held by the dead."""
    _sqlite_only(database)
    database._writer_turn.timeout_seconds = 0.2
    lock_file = beside_sqlite_file(database.url, WRITER_LOCK)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_THE_TURN, str(lock_file)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(exc.OperationalError, match="another process's write"):
            with database.session(write=True) as session:
                execution.execute(session, _INSERT, _row("p1"))
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))
    assert _stored(database) == (["p1"], [])


def test_a_forked_child_asks_for_the_turn_with_a_descriptor_of_its_own(database):
    """A descriptor inherited across a fork shares its parent's lock: the child must open its own, else it would
    find the turn its parent holds already its own."""
    _sqlite_only(database)
    with database.session(write=True) as session:
        execution.execute(session, _INSERT, _row("p1"))  # the parent holds the turn (and its descriptor is open)
        child = os.fork()
        if child == 0:  # the child: the thread lock it inherited is held; ask for the process's turn alone
            try:
                database._writer_turn._take_file(time.monotonic() + 0.2)
                os._exit(1)  # it took the turn its parent holds
            except exc.OperationalError:
                os._exit(0)
            except BaseException:  # noqa: BLE001 — anything else: the child fails
                os._exit(2)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_lock_file_that_cannot_be_opened_leaves_processes_to_sqlites_busy_handler(tmp_path, caplog):
    turn = WriterTurn(0.2, lock_file=tmp_path / "no such directory" / "fhirclaim.db-writer.lock")
    turn.take()
    assert turn.held
    turn.give_back()
    assert turn.lock_file is None and not turn.held
    assert "cannot be opened" in caplog.text
