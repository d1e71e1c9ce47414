"""A unit of work's transaction as the repositories see a session, without an ORM session unless one is needed
(issue 17): a read's (`ReadTransaction`) and a write's (`WriteTransaction`).

An ORM session costs a unit of work about 35 µs of CPU (its transaction bookkeeping on begin, flush and commit or
rollback, on top of the pool checkout, BEGIN and COMMIT), while a read by id, a search and a FHIR create run only
prebuilt Core statements (`store/execution.py`), which need the connection and nothing else. Those run on
`connection()`; whatever else a repository asks of its session (`add`, `get`, a savepoint, an ORM query, `execute`
of a statement built per call) goes to an ORM session made on first use and joined to this transaction
(`OnConnection`), which stays this object's to end: the session may flush and roll back, it never commits it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, exc
from sqlalchemy.orm import Session

from fhirclaim.clock import ask_until
from fhirclaim.startup import PRIVATE_FILE

log = logging.getLogger(__name__)


class OnConnection:
    """A transaction on a connection this object holds, and the ORM session joined to it once something asks for
    one (any attribute a session has and this object has not)."""

    def __init__(self, connection: Connection):
        self.bind = connection
        self.driver_connection = connection.connection.driver_connection
        self.info: dict = {}  # what `Session.info` holds for a unit of work (its memos, its commit notices)
        self._session: Session | None = None
        self._cursor: Any = None
        self._raw_cursor: Any = None
        # the statements sent in a pipelined block not yet answered (`execution.pipelined`); None outside one
        self.queued: list[tuple[str, Any]] | None = None
        # the statements a `execution.held_back` block holds back, not yet sent (a list with `send()`); None outside
        self.later: Any = None
        # the error of held-back statements, once raised: the database aborted the transaction, which must not end
        # as if committed (PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, not an error)
        self.refused: BaseException | None = None

    def cursor(self) -> Any:
        """The driver's cursor this transaction's prebuilt statements run on (`store/execution.py`): one for all
        of them, made at the first (psycopg spends about 5 µs making and closing one), closed with the transaction.
        Never another thread's: a unit of work, as its connection, belongs to the thread that opened it."""
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self.driver_connection.cursor()
        return cursor

    def raw_cursor(self) -> Any:
        """psycopg's cursor for statements written with PostgreSQL's own placeholders ($1, $2…, a sequence of
        values): psycopg parses none of their SQL (`execution._merged`'s, whose hundred parameters are past the
        bounds of psycopg's cache of parsed statements). Made at the first, closed with the transaction."""
        cursor = self._raw_cursor
        if cursor is None:
            from psycopg import RawCursor  # PostgreSQL's driver: only a PostgreSQL transaction asks for one

            cursor = self._raw_cursor = RawCursor(self.driver_connection)
        return cursor

    def _close_cursor(self) -> None:
        """Close the shared cursors, before the connection goes back to the pool (they must not outlive the
        checkout)."""
        cursors, self._cursor, self._raw_cursor = (self._cursor, self._raw_cursor), None, None
        for cursor in cursors:
            if cursor is not None:
                cursor.close()

    @property
    def orm_session(self) -> Session | None:
        """The ORM session joined to this transaction, if something asked for one."""
        return self._session

    def connection(self) -> Connection:
        """The connection, its transaction begun (as `Session.connection()` answers it)."""
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and friends: not a session's
            raise AttributeError(name)
        if self.later:  # held back: sent before anything the ORM session does (`execution.held_back`)
            self.later.send()
        if self._session is None:
            self.connection()  # begun first: the session joins this transaction and never owns it
            self._session = self._new_session()
        return getattr(self._session, name)

    def _new_session(self) -> Session:
        return Session(bind=self.bind, expire_on_commit=False, join_transaction_mode="rollback_only")


class ReadTransaction(OnConnection):
    """A read's transaction, begun by its owner (`Database.reading`) and ended by it: rolled back. Nothing is
    written through it: on PostgreSQL each of its statements is its own transaction (autocommit, `store/db.py`), so a
    write would not be rolled back, and an INSERT, UPDATE or DELETE is refused (`refuse_writes`), as is an ORM
    session's flush of anything."""

    autoflush = False  # nothing to flush: nothing is written here

    def _new_session(self) -> Session:
        session = super()._new_session()
        event.listen(session, "before_flush", _refuse_flush)
        event.listen(session, "do_orm_execute", _refuse_orm_writes)
        return session

    def connection(self) -> Connection:
        """The connection this transaction runs on (as `Session.connection()` answers it)."""
        return self.bind

    def flush(self) -> None:
        """A session's flush: nothing is pending in a read."""

    def close(self) -> None:
        """Release the ORM session, if one was made, and the cursor (the connection's transaction is ended by its
        owner)."""
        try:
            if self._session is not None:
                self._session.close()
        finally:
            self._close_cursor()


class WriteTransaction(OnConnection):
    """One write unit of work's transaction on a connection it holds from the start. Its transaction begins with the
    first statement (SQLite: BEGIN IMMEDIATE, the database's one writer lock), so what the handler does before it
    (parse and validate the body) does not hold the lock; on SQLite a read may run on the connection before that,
    alone (`unbegun`: the token check)."""

    def __init__(self, connection: Connection, *, reads_before_begin: bool, writer: WriterTurn | None = None):
        super().__init__(connection)
        self._reads_before_begin = reads_before_begin
        self._writer = writer
        self._has_turn = False

    @property
    def autoflush(self) -> bool:
        """Whether a statement must flush first (`execution.execute`): only an ORM session has changes pending."""
        return self._session is not None

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def connection(self) -> Connection:
        """The connection, its transaction begun (as `Session.connection()` answers it)."""
        if self._session is not None:
            return self._session.connection()  # the innermost savepoint's
        if not self.bind.in_transaction():
            if self._writer is not None and not self._has_turn:
                self._writer.take()
                self._has_turn = True
            self.bind.begin()
        return self.bind

    def unbegun(self) -> Connection | None:
        """The connection, where a read may run on it alone before the transaction begins: on SQLite (a statement
        outside a transaction is its own read transaction and takes no writer lock), until the first statement of
        the write. Elsewhere None: PostgreSQL's reads run in the write's transaction."""
        if self._reads_before_begin and self._session is None and not self.bind.in_transaction():
            return self.bind
        return None

    def get_bind(self, *_args: Any, **_kwargs: Any) -> Connection:
        """What `Session.get_bind` answers for a session bound to a connection (its dialect is what is asked)."""
        return self.bind

    def commit(self) -> None:
        if self.refused is not None:  # caught by someone since: the write fails all the same
            raise self.refused
        if self._session is not None:
            self._session.commit()  # flushes; the transaction is not the session's to commit
        if self.bind.in_transaction():
            self.bind.commit()

    def close(self) -> None:
        """End the ORM session, if one was made, and roll back whatever was not committed."""
        try:
            if self._session is not None:
                self._session.close()
        finally:
            try:
                self._close_cursor()
            finally:
                try:
                    if self.bind.in_transaction():
                        self.bind.rollback()
                finally:
                    if self._has_turn:
                        self._has_turn = False
                        self._writer.give_back()

    def __enter__(self) -> WriteTransaction:
        return self

    def __exit__(self, kind, _error, _traceback) -> None:
        """Committed when the block ends normally, rolled back when it raises (or its commit does)."""
        try:
            if kind is None:
                self.commit()
        finally:
            self.close()


class WriterTurn:
    """SQLite's one writer, taken in turn before a write transaction begins (`WriteTransaction`) and given back when
    it ends: first by the threads of this process, then by the processes on the database's file.

    SQLite lets one write transaction run at a time (BEGIN IMMEDIATE). A second writer that finds the lock taken
    waits in SQLite's busy handler, which sleeps and tries again: after 1, 2, 5, 10 … up to 100 ms at a time,
    however soon the lock was freed. Under four client threads a create's p99 went to 107 ms that way, most of it
    asleep with the database free (issue 17). Threads of one process queue on a lock, each woken as the one before
    it ends. Processes (`fhirclaim worker` beside the server) take an exclusive `flock` on `lock_file` beside the
    database: a process that finds it taken asks again every millisecond (`flock` has no timeout of its own), and the
    kernel frees it when its holder ends, even by a crash. The thread that asks is the one of its process that has
    the turn, so a process polls once, whatever its threads. A turn not had within SQLite's own busy timeout fails as
    SQLite's lock would ("database is locked"), never waits without end. Nothing else depends on the turn: a write
    that does not take it (a migration) still meets SQLite's own lock. A lock file that cannot be opened (a read-only
    directory) leaves processes to SQLite's busy handler, as before, with a warning."""

    def __init__(self, timeout_seconds: float, lock_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.timeout_seconds = timeout_seconds
        self.lock_file = lock_file
        self._file: int | None = None  # this process's descriptor of the lock file (a forked child opens its own)
        self._file_pid: int | None = None

    def take(self) -> None:
        deadline = time.monotonic() + self.timeout_seconds
        if not self._lock.acquire(timeout=self.timeout_seconds):
            raise _locked("another write of this process", self.timeout_seconds)
        try:
            self._take_file(deadline)
        except BaseException:
            self._lock.release()
            raise

    def give_back(self) -> None:
        try:
            if self._file is not None and self._file_pid == os.getpid():
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.locked()

    def _take_file(self, deadline: float) -> None:
        descriptor = self._descriptor()
        if descriptor is not None and not ask_until(lambda: _flocked(descriptor), deadline,
                                                    _PROCESS_TURN_POLL_SECONDS):
            raise _locked("another process's write", self.timeout_seconds)

    def _descriptor(self) -> int | None:
        """This process's descriptor of the lock file, opened at its first write (a descriptor inherited across a
        fork shares its parent's lock: the child opens its own)."""
        if self.lock_file is None:
            return None
        if self._file_pid != os.getpid():
            if self._file is not None:  # inherited: closing this copy leaves the parent's lock as it is
                os.close(self._file)
                self._file = None
            try:
                self._file = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                     PRIVATE_FILE)
            except OSError as error:
                log.warning("SQLite's processes take their writes in turn in SQLite's busy handler: the lock file %s "
                            "cannot be opened (%s)", self.lock_file, error.strerror or error)
                self.lock_file = None
                return None
            self._file_pid = os.getpid()
        return self._file

    def close(self) -> None:
        """Close this process's descriptor of the lock file (a turn still held is given back with it)."""
        if self._file is not None and self._file_pid == os.getpid():
            os.close(self._file)
        self._file = self._file_pid = None


_PROCESS_TURN_POLL_SECONDS = 0.001  # how often a process asks again for the turn another process holds


def _flocked(descriptor: int) -> bool:
    """Whether this call took the exclusive `flock` (False: another process holds it)."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _locked(holder: str, timeout_seconds: float) -> exc.OperationalError:
    return exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
        f"database is locked ({holder} held it past {timeout_seconds:g} s)"))


def refuse_writes(statement: Any) -> None:
    """A read's transaction runs no INSERT, UPDATE or DELETE (`ReadTransaction`)."""
    if getattr(statement, "is_dml", False):
        raise RuntimeError(f"a read's transaction writes nothing: {type(statement).__name__} refused "
                           f"(take `Store.unit_of_work`)")


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read's transaction writes nothing: its ORM session may not flush changes "
                           "(take `Store.unit_of_work`)")


def _refuse_orm_writes(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        refuse_writes(state.statement)


def orm_session_of(session: Session | OnConnection) -> Session | None:
    """The ORM session a unit of work's session is or holds, None where it made none (so nothing of it was loaded
    as an ORM object)."""
    return session.orm_session if isinstance(session, OnConnection) else session
