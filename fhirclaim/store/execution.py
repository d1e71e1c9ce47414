"""Prebuilt Core statements, compiled once per dialect and run on the DBAPI cursor of the session's connection
(issue 17).

`Session.execute`, and even `Connection.execute`, do per-statement work of their own before the driver sees the
statement (cache key, execution context, result metadata, event dispatch): about 30 µs of CPU on SQLite, against
5–10 µs for the driver itself, and a create runs a dozen statements. A statement handed to `execute` here is built
once by its module; the first time it runs on a dialect with a given set of parameter names it is compiled (SQL text,
parameter order, the columns' bind and result processors) and every later run goes straight to the cursor.

What stays as SQLAlchemy does it:
- the transaction: the statement runs on the session's own connection (its BEGIN, savepoints and COMMIT), or on
  a read's or a write's (`transactions.ReadTransaction`, `WriteTransaction`: no ORM session unless asked for one);
- the SQL: the dialect's own compilation, values always bound as parameters (executemany for a list of rows);
- types: each column's bind processor (datetimes and booleans on SQLite) and result processor;
- errors: a driver error goes through the connection's own handling (IntegrityError and the other wrappers,
  disconnect detection, `handle_error` listeners);
- `before_cursor_execute` / `after_cursor_execute` listeners are called (statement counters of tests and
  benchmarks).
The statements of a transaction held without an ORM session (`transactions.OnConnection`: a read's, a write's)
share one driver cursor, made at its first statement and closed with the transaction: psycopg spends about 5 µs
of CPU making and closing one, a third of what a short statement costs it on a fresh cursor.

On PostgreSQL each statement is a round trip of its own. `pipelined` sends a block of statements whose answers
nobody reads before the block ends (a new version's row and its index rows) in one: psycopg's pipeline mode,
synced when the block ends, where a driver error of any of them is raised, wrapped as any other
(`ConstraintViolation`, …). A create's version and three kinds of index rows: four round trips before, one now,
about 40 µs less CPU here and 65 µs less wall time (psycopg's own executemany was a pipeline each already). A
short block costs more CPU than it saves: psycopg sends BEGIN and waits for it even in a pipeline, and BEGIN sent
by hand in one with the first statement (the connection in autocommit) cost 25 µs more CPU than the two round trips.
A write's listeners' rows (its AuditEvent, its pipeline job, its worklist line: `execute_later` in a `held_back`
block) are held back and sent in one pipeline with the next statement that needs an answer (the Subscription
epoch's SELECT), or when the block ends: three round trips fewer per create.
What either block sends is merged first (`_merged`): plain INSERTs go as one statement of data-modifying WITH
queries, each executemany's rows as one VALUES list, with the next statement as its final query where that is a
SELECT of none of the tables they write. psycopg spends ~40 µs of CPU on a statement however short: a create's
version and index rows (a `pipelined` block inside the `held_back` block of `FhirService.create`, so held back
with the rest), its listeners' rows and the epoch's SELECT are one statement instead of eight. A merged statement
is written with PostgreSQL's own placeholders ($1, $2…) and sent on a raw cursor (`OnConnection.raw_cursor`):
psycopg keeps no parsed copy of a statement past 50 parameters and would parse its SQL at every run.
A constant IN list (a scope's partitions) is expanded once, when the statement is compiled. A statement this cannot
run as it is (Python-side column defaults to fill, an IN list the caller gives, RETURNING for a list of rows, echo
on) runs through `Connection.execute` as before.
"""

from __future__ import annotations

import contextlib
import operator
import re
import weakref
from collections import namedtuple
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Delete, Executable, Insert, Select, Table, UniqueConstraint, exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from fhirclaim.store.transactions import OnConnection, ReadTransaction, WriteTransaction, refuse_writes


def execute(session: Session, statement: Executable, params: Any = None) -> Any:
    """`session.execute(statement, params)` for a Core statement (no ORM entity in it): pending ORM changes are
    flushed first, as `Session.execute` does (unless autoflush is off), and the statement runs in the session's
    transaction. The answer is a `Rows` (or, for a statement run the long way, a `CursorResult`): both have
    `first`, `all`, `one`, `scalar`, `scalar_one`, `scalar_one_or_none`, iteration and `rowcount`."""
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return execute_unflushed(session, statement, params)


def execute_unflushed(session: Session, statement: Executable, params: Any = None) -> Any:
    """As `execute`, flushing nothing: for a read that pending ORM changes cannot affect."""
    if type(session) is ReadTransaction:
        refuse_writes(statement)
    connection, driver_connection = _held(session)
    many = isinstance(params, list)
    first = (params[0] if params else None) if many else params
    plan = _plan(connection, statement, first, many)
    held = session if isinstance(session, OnConnection) else None
    if plan is None:
        if held is not None and held.queued is not None:
            raise RuntimeError("a pipelined block runs prebuilt statements only (store/execution.py)")
        if held is not None and held.later:
            held.later.send()  # what was held back goes first, in its order
        return connection.execute(statement, params)
    parameters = [plan.values(p) for p in params] if many else plan.values(first or {})
    if held is not None:
        if held.queued is not None:  # a pipelined block's: sent when it ends
            if plan.row_type is not None:
                raise RuntimeError("a pipelined block sends statements whose answers nobody reads before it ends")
            held.queued.append((plan, parameters, many))
            return _Queued()
        if held.later:  # sent with what was held back: one round trip
            return held.later.send((plan, parameters, many))
    return plan.run(connection, driver_connection, parameters, many, held)


def execute_later(session: Session, statement: Executable, params: Any = None) -> None:
    """`execute` for a statement whose answer nobody reads (no rows, no row count: a listener's INSERT). In a
    `held_back` block of a write on PostgreSQL (psycopg, no ORM session) it is held back, and sent in one pipeline
    with the transaction's next statement or when the block ends; its error (a refused row) is raised there, as
    SQLAlchemy's (`ConstraintViolation`, …), and fails that call. Elsewhere it runs at once."""
    later = session.later if type(session) is WriteTransaction else None
    if later is None or session.orm_session is not None or session.queued is not None:
        execute(session, statement, params)
        return
    connection = later.connection
    many = isinstance(params, list)
    plan = _plan(connection, statement, (params[0] if params else None) if many else params, many)
    if plan is None or plan.row_type is not None:
        execute(session, statement, params)
        return
    later.append((plan, [plan.values(p) for p in params] if many else plan.values(params or {}), many))


@contextlib.contextmanager
def held_back(session: Session) -> Iterator[None]:
    """A block of a write whose `execute_later` statements wait, on PostgreSQL, for the next statement that needs
    an answer and go with it in one round trip (a pipeline, as `pipelined`'s), or go together when the block ends.
    What runs in between sees them sent first, in their order: a statement through `execute`, an ORM session's
    (`OnConnection.__getattr__` sends them before it answers), a `pipelined` block (they ride it). A block that
    raises drops what it held back: the write fails. Elsewhere (SQLite, psycopg2, an ORM session's transaction) the
    statements run at once; a block inside a block rides the outer one."""
    held = session if type(session) is WriteTransaction else None
    if (held is None or held.later is not None or held.orm_session is not None
            or held.bind.dialect.driver != "psycopg"):
        yield
        return
    connection, driver_connection = _held(held)  # begun: BEGIN is not sent from inside the pipeline
    held.later = _HeldBack(held, connection, driver_connection)
    try:
        yield
        if held.later:
            held.later.send()
    finally:
        held.later = None


def read_before_begin(session: Session, statement: Executable, params: Any = None) -> Any:
    """A read run before a write's transaction begins, where it may (`WriteTransaction.unbegun`, SQLite): alone on
    the write's connection, in the driver's autocommit, so it is its own read transaction and does not take the
    writer lock that the write's first statement takes. Anywhere else (a read's transaction, a PostgreSQL write,
    a transaction already begun) it runs in the session's transaction, as `execute_unflushed`."""
    connection = session.unbegun() if type(session) is WriteTransaction else None
    if connection is not None:
        plan = _plan(connection, statement, params, False)
        if plan is not None:  # a plan goes to the driver: nothing autobegins the connection's transaction
            return plan.run(connection, session.driver_connection, plan.values(params or {}), False, session)
    return execute_unflushed(session, statement, params)


@contextlib.contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """A block of a write whose statements (prebuilt, returning no rows) are sent to PostgreSQL together when the
    block ends (one statement where `_merged` can make them one, else one pipeline): one round trip for all, and
    psycopg's per-statement work once where they are plain INSERTs. A driver error of any of them (a unique key
    refused, …) is raised when the block ends, as SQLAlchemy's error (`ConstraintViolation`, …), still inside the
    caller's call; the write's transaction is then the caller's to roll back, as after any failed statement. Their row
    counts are known only then: reading one in the block raises. A statement that returns rows, or one that runs
    the long way (`Connection.execute`), may not run in the block (RuntimeError).

    Inside a `held_back` block (no ORM session) its statements are held back with that block's, in order, and go
    with them (with the next statement that needs an answer, or when that block ends): their error is raised
    there, still before the write commits. Elsewhere (SQLite, whose statements cost no round trip; psycopg2; a
    read; an ORM session's transaction) the statements run one by one, as outside it; a block inside a block
    rides the outer one."""
    held = session if type(session) is WriteTransaction else None
    if held is None or held.queued is not None or held.bind.dialect.driver != "psycopg":
        yield
        return
    if held.later is not None and held.orm_session is None:  # in a `held_back` block: held back with its rows
        held.queued = held.later
        try:
            yield
        finally:
            held.queued = None
        return
    held.flush()  # an ORM session's pending changes go first, not in the middle of the block
    connection, driver_connection = _held(held)  # begun: BEGIN is not sent from inside the pipeline
    later, held.later = held.later, None  # what a `held_back` block holds rides this one, first
    queued = held.queued = list(later or ())
    if later:
        later.clear()
    try:
        yield
    finally:
        held.queued, held.later = None, later
    # the transaction is aborted by a refused row: its commit fails too, unless a savepoint (the ORM session's) the
    # block ran in is rolled back
    _send(held, connection, driver_connection, queued, None, aborts=held.orm_session is None)


_Statement = tuple["_Plan", Any, bool]  # a plan, the driver's parameters, executemany


def _send(held: WriteTransaction, connection: Connection, driver_connection: Any, statements: list[_Statement],
          last: _Statement | None, *, aborts: bool) -> Rows | None:
    """Send `statements` (answered by nobody) and then `last` (a statement whose answer is read), as few as they can
    be (`_merged`: one statement where they are plain INSERTs), in one pipeline where more than one remain; `last`'s
    answer. A refused one is raised here, as SQLAlchemy's error of the statements sent (`ConstraintViolation`, …).
    `aborts`: it leaves the transaction aborted, so its commit must raise it again (`WriteTransaction.refused`):
    PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, not an error."""
    statements, last = _merged(statements, last)
    try:
        if len(statements) + (last is not None) == 1:  # one statement: no pipeline to enter and sync
            plan, parameters, many = last or statements[0]
            plan.send(connection, _cursor_for(held, plan), parameters, many, False)
        elif statements or last is not None:
            try:
                with driver_connection.pipeline():
                    for plan, parameters, many in [*statements, last] if last is not None else statements:
                        plan.send(connection, _cursor_for(held, plan), parameters, many, False)
            except connection.dialect.loaded_dbapi.Error as error:  # raised by the sync that ends the pipeline
                sent = [*statements, last] if last is not None else statements
                connection._handle_dbapi_exception(error, ";\n".join(plan.sql for plan, _, _ in sent),
                                                   [parameters for _, parameters, _ in sent], None, None)
    except exc.DBAPIError as raised:  # SQLAlchemy's error of the driver's
        if aborts:
            held.refused = raised
        raise
    return last[0].answer(connection, _cursor_for(held, last[0])) if last is not None else None


def _cursor_for(held: WriteTransaction, plan: _Plan) -> Any:
    """The transaction's cursor for this plan: its raw cursor for a merged statement (`_merged_plan`)."""
    return held.raw_cursor() if plan.raw is not None else held.cursor()


class _HeldBack(list):
    """The statements a `held_back` block holds back: (plan, the driver's parameters, executemany), in order."""

    def __init__(self, held: WriteTransaction, connection: Connection, driver_connection: Any):
        super().__init__()
        self.held, self.connection, self.driver_connection = held, connection, driver_connection

    def send(self, last: _Statement | None = None) -> Rows | None:
        """Send them, and `last` (a statement whose answer is read: its rows, its row count) after them, in one
        round trip (`_send`); `last`'s answer. A refused one is raised here, as SQLAlchemy's error of the statements
        sent; the transaction is then aborted (PostgreSQL answers every later statement with an error, COMMIT
        included: `WriteTransaction.commit` raises it again rather than end the write as if it had been kept)."""
        statements = list(self)
        self.clear()
        return _send(self.held, self.connection, self.driver_connection, statements, last, aborts=True)


_HELD = "fhirclaim.execution"  # session.info: (its transaction, the connection it runs on, the driver's connection)


def _held(session: Session) -> tuple[Connection, Any]:
    """The session's connection in its current transaction, and the driver's connection under it: asked of the
    session once per transaction (`Session.connection` costs a few µs a call). The current transaction is the
    innermost: a savepoint begun since is emitted by asking the session again. A read's transaction
    (`transactions.ReadTransaction`) and a write's without an ORM session (`WriteTransaction`) hold their connection."""
    if type(session) is ReadTransaction:
        return session.connection(), session.driver_connection
    if type(session) is WriteTransaction:
        if session.orm_session is None:
            return session.connection(), session.driver_connection
        session = session.orm_session  # asked for by something else: its savepoints decide the connection's state
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_HELD)
    if held is None or held[0] is not transaction or transaction is None:
        connection = session.connection()  # begins the transaction (or the savepoint) when not yet begun
        transaction = session.get_nested_transaction() or session.get_transaction()
        held = session.info[_HELD] = (transaction, connection, connection.connection.driver_connection)
    return held[1], held[2]


class Rows:
    """A statement's answer, fetched: the rows (named tuples) and the driver's row count."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple], rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._rows)

    def all(self) -> list[tuple]:
        return list(self._rows)

    def first(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def one(self) -> tuple:
        if len(self._rows) != 1:
            raise (exc.NoResultFound("No row was found when one was required") if not self._rows else
                   exc.MultipleResultsFound("Multiple rows were found when exactly one was required"))
        return self._rows[0]

    def one_or_none(self) -> tuple | None:
        return self.one() if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        return self.one()[0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


class _Queued(Rows):
    """The answer of a statement sent in a pipelined block: no rows, and a row count not known before the block
    ends (asking for it is a mistake, not a wait)."""

    __slots__ = ()

    def __init__(self):  # no row count to set: the property below refuses it
        self._rows = []

    @property
    def rowcount(self) -> int:  # type: ignore[override]
        raise RuntimeError("a pipelined statement's row count is known only when its block ends")


class _Plan:
    """One statement compiled for one dialect and one set of parameter names."""

    def __init__(self, sql: str, positional: bool, binds: Sequence[tuple[str, str | None, Any, Any]],
                 row_type, result_types: Sequence[Any]):
        self.sql, self.positional, self.binds = sql, positional, binds
        self.row_type, self.result_types = row_type, result_types
        # `values` of a statement whose every value is the caller's (no constant): the values in one C call, then
        # the processed ones put through their processor (issue 17: ~15 statements' parameters a create)
        keys = [key for _name, key, _constant, _process in binds]
        self._get = None if not keys or None in keys else operator.itemgetter(*keys)
        self._single = len(keys) == 1
        self._processed = tuple((index, process) for index, (_name, _key, _constant, process) in enumerate(binds)
                                if process is not None)
        self._names = tuple(name for name, _key, _constant, _process in binds)
        self.result_processors: list[Any] | None = None  # from the first answer's column types (PostgreSQL's numeric)
        # what `_merged` needs of a statement on PostgreSQL: a plain INSERT's target table, its SQL up to its
        # VALUES and its row of parameters; the tables a SELECT or a DELETE reads (a SELECT may end a merged
        # statement that writes none of them; a DELETE may join one whose earlier INSERTs write none of them)
        self.insert: tuple[str, str, str] | None = None
        self.keyed = True  # an INSERT's rows may collide on a unique key (`_keyed`)
        self.reads: frozenset[str] | None = None
        self.deletes = False
        # a merged statement's (`_merged_plan`): written with PostgreSQL's placeholders, $1 for the first of these
        # (part, row, parameter name), run on a raw cursor with the values in that order
        self.raw: tuple[tuple[int, int, str], ...] | None = None

    def values(self, params: Any) -> Any:
        """The driver's parameters: each bind's value (from `params`, else its constant) through its processor."""
        get = self._get
        if get is None:
            values = []
            for _name, key, constant, process in self.binds:
                value = params[key] if key is not None else constant
                values.append(value if process is None else process(value))
        else:
            values = get(params)
            if self._single:
                values = (values,)
            if self._processed:
                values = list(values)
                for index, process in self._processed:
                    values[index] = process(values[index])
        return tuple(values) if self.positional else dict(zip(self._names, values, strict=True))

    def run(self, connection: Connection, driver_connection: Any, parameters: Any, many: bool,
            held: OnConnection | None) -> Rows:
        """Run on the driver's cursor: the transaction's own where it holds one (`held`), else one of its own."""
        cursor = driver_connection.cursor() if held is None else held.cursor()
        try:
            self.send(connection, cursor, parameters, many, held is None)
            return self.answer(connection, cursor)
        finally:
            if held is None:
                cursor.close()

    def send(self, connection: Connection, cursor: Any, parameters: Any, many: bool, own_cursor: bool) -> Any:
        """Execute on `cursor`, between the connection's cursor listeners; the cursor."""
        sql = self.sql
        listened = connection._has_events or connection.engine._has_events
        if listened:
            for listener in connection.dispatch.before_cursor_execute:
                sql, parameters = listener(connection, cursor, sql, parameters, None, many)
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
        except Exception as error:  # the driver's error, as SQLAlchemy reports it (IntegrityError, …): it closes
            # the cursor it is given, which the transaction's next statement would find closed
            connection._handle_dbapi_exception(error, sql, parameters, cursor if own_cursor else None, None)
        if listened:
            for listener in connection.dispatch.after_cursor_execute:
                listener(connection, cursor, sql, parameters, None, many)
        return cursor

    def answer(self, connection: Connection, cursor: Any) -> Rows:
        """The answer of the statement the cursor ran: its rows, processed, and its row count."""
        try:
            row_type = self.row_type  # None: the statement returns no rows (and `description`, which psycopg
            rows = [] if row_type is None else cursor.fetchall()  # builds anew on each call, is asked once)
        except Exception as error:
            connection._handle_dbapi_exception(error, self.sql, None, None, None)
        if rows:
            processors = self.result_processors
            if processors is None:
                processors = self.result_processors = [
                    kind._cached_result_processor(connection.dialect, column[1])
                    for kind, column in zip(self.result_types, cursor.description, strict=True)]
            if any(processors):
                rows = [row_type(*[value if process is None else process(value)
                                   for process, value in zip(processors, row, strict=True)]) for row in rows]
            else:
                rows = [row_type(*row) for row in rows]
        return Rows(rows, cursor.rowcount)


_PLANS: weakref.WeakKeyDictionary[Executable, dict[tuple, _Plan | None]] = weakref.WeakKeyDictionary()


def _plan(connection: Connection, statement: Executable, params: Any, many: bool) -> _Plan | None:
    """The compiled plan of this statement for this dialect and these parameter names (made on first use), or None
    when it runs the long way."""
    dialect = connection.dialect
    keys = tuple(params) if params else ()
    key = (dialect.name, dialect.paramstyle, keys, many)
    try:
        plans = _PLANS[statement]
    except KeyError:
        plans = _PLANS.setdefault(statement, {})
    except TypeError:  # not weak-referenceable: built per call, nothing to gain
        return None
    try:
        plan = plans[key]
    except KeyError:
        plan = plans[key] = _compile(dialect, statement, keys, many)
    if plan is None or connection._echo:
        return None
    return plan


def _compile(dialect, statement: Executable, keys: tuple[str, ...], many: bool) -> _Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    if (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
            or (many and compiled.effective_returning)):
        return None  # defaults to compute, values to render, rows to return per row: SQLAlchemy's work
    key_of: dict[str, str] = {}  # the bind names the caller's parameters fill, with the parameter's key
    for bind, name in compiled.bind_names.items():
        if bind.key in keys and not bind.expanding:
            key_of[name] = key_of[compiled.escaped_bind_names.get(name, name)] = bind.key
        elif bind.key in keys or bind.required or bind.callable:
            return None  # a list to expand per call, or a value no one gives
    # Constant IN lists (a scope's partitions) are expanded once, here; the caller's values stand in as None.
    expanded = compiled.construct_expanded_state({key: None for key in keys})
    processors = {**compiled._bind_processors, **expanded.processors}
    datetimes = {name for bind, name in compiled.bind_names.items() if _sqlite_datetime(bind.type, dialect)}
    binds = []
    for name in expanded.positiontup if compiled.positional else expanded.parameters:
        process = processors.get(name)
        if name in key_of:
            if process is not None and name in datetimes:
                process = _datetime_text(process)
            binds.append((name, key_of[name], None, process))
        else:
            value = expanded.parameters[name]
            binds.append((name, None, value if process is None else process(value), None))
    columns = compiled._result_columns
    row_type = None
    if columns:
        try:
            row_type = namedtuple("Row", [column[0] for column in columns])
        except ValueError:
            return None
    elif compiled.effective_returning:
        return None
    plan = _Plan(expanded.statement, compiled.positional, binds, row_type, [column[3] for column in columns])
    if dialect.name == "postgresql" and not compiled.positional:
        _mergeable(plan, statement, keys)
    return plan


def _sqlite_datetime(kind: Any, dialect) -> bool:
    """Whether a bind of this type is SQLite's DATETIME in its own text form (no storage format of a caller's)."""
    if dialect.name != "sqlite":
        return False
    impl = kind.dialect_impl(dialect)
    return type(impl) is sqlite.DATETIME and impl._storage_format == sqlite.DATETIME._storage_format


def _datetime_text(process: Any) -> Any:
    """SQLite DATETIME's bind processor, its text of a naive datetime made by `isoformat` (the same text,
    `YYYY-MM-DD HH:MM:SS.ffffff`, at a third of the cost of its `%` format of seven fields: a create binds ~14;
    issue 17); any other value (None, an aware datetime, a date) as SQLAlchemy's processor makes it."""

    def text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)

    return text


def _mergeable(plan: _Plan, statement: Executable, keys: tuple[str, ...]) -> None:
    """Mark what `_merged` may merge: an INSERT of one row of values into a table (no RETURNING, no ON CONFLICT,
    no SELECT, no prefix); a DELETE (no RETURNING) and a SELECT that are not themselves WITH queries, with the
    tables they read."""
    sql = plan.sql
    if (isinstance(statement, Insert) and statement.select is None and not statement._multi_values
            and statement._post_values_clause is None and not statement._prefixes and not statement._hints
            and plan.row_type is None and sql.startswith("INSERT INTO ") and sql.count(" VALUES (") == 1
            and sql.endswith(")")):
        head, row = sql.split(" VALUES ", 1)
        plan.insert = (statement.table.name, head + " VALUES ", row)
        plan.keyed = _keyed(statement.table, keys)
    elif (isinstance(statement, Select) and sql.startswith("SELECT ")) or (
            isinstance(statement, Delete) and plan.row_type is None and sql.startswith("DELETE FROM ")):
        plan.reads = frozenset(element.name for element in visitors.iterate(statement) if isinstance(element, Table))
        plan.deletes = isinstance(statement, Delete)


def _keyed(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether rows inserted into `table` with values for `keys` may collide on a unique key: a unique constraint
    or index, or a primary key whose values are given rather than generated."""
    primary = table.primary_key.columns
    generated = len(primary) == 1 and primary[0].autoincrement in (True, "auto") and primary[0].key not in keys
    return (not generated or any(isinstance(constraint, UniqueConstraint) for constraint in table.constraints)
            or any(index.unique for index in table.indexes))


_PARAMETER = re.compile(r"(?<!%)%\(([^)]*)\)s")  # psycopg's named parameter (`%%` is a literal %)
_MAX_MERGED_PARAMETERS = 10_000  # PostgreSQL takes at most 65535 in a statement
_MERGED: dict[tuple, _Plan] = {}  # merged statements by shape (their plans, rows per plan, the last's plan)


def _merged(statements: list[_Statement], last: _Statement | None) -> tuple[list[_Statement], _Statement | None]:
    """`statements` and `last` as one statement where they can be, on PostgreSQL (issue 17): psycopg spends about
    40 µs of CPU on each statement however short, and a create's version row, index rows, audit row, job and
    worklist line are plain INSERTs. Those become one statement of data-modifying WITH queries
    (`WITH m0 AS (INSERT …), m1 AS (INSERT … VALUES (…), (…)) INSERT …`), each executemany's rows one multi-row
    VALUES; a DELETE (an update's old index rows) joins them where no INSERT before it writes a table it reads and
    none after it may need a unique key it frees (the order the statement runs them in is PostgreSQL's);
    `last`, a SELECT of none of the tables they write, becomes its final query (its answer the statement's). All of
    them see the database as it was before the statement, so each does what it did alone: no INSERT reads another's
    rows, a DELETE finds none of the rows inserted after it, every constraint is checked, and a refused row refuses
    the whole statement, as it aborted the transaction before. Anything else (an UPDATE, an INSERT … ON CONFLICT, a
    DELETE of a table written before it, a SELECT of a table they write) is sent as it is, in order."""
    if len(statements) + (last is not None) < 2:
        return statements, last
    statements = [entry for entry in statements if not entry[2] or entry[1]]  # an executemany of no rows: nothing
    written: set[str] = set()
    deleted: set[str] = set()  # the tables DELETEs read: an INSERT after one may not need its rows gone first
    for plan, _, many in statements:
        if plan.insert is not None:
            if plan.keyed and plan.insert[0] in deleted:  # a key freed by the DELETE, which may not run first
                return statements, last
            written.add(plan.insert[0])
        elif not plan.deletes or many or plan.reads & written:
            return statements, last
        else:
            deleted |= plan.reads
    rows = [len(parameters) if many else 1 for _, parameters, many in statements]
    final = (last if last is not None and last[0].reads is not None and not last[0].deletes
             and not last[0].reads & written else None)
    if len(statements) + (final is not None) < 2 or sum(
            len(plan.binds) * count for (plan, _, _), count in zip(statements, rows, strict=True)) \
            > _MAX_MERGED_PARAMETERS:
        return statements, last
    shape = (*((plan, count) for (plan, _, _), count in zip(statements, rows, strict=True)),
             final[0] if final is not None else None)
    merged = _MERGED.get(shape)
    if merged is None:
        if len(_MERGED) > 1000:  # shapes vary with the rows per INSERT: a bound, not an eviction policy
            _MERGED.clear()
        merged = _MERGED[shape] = _merged_plan(statements, rows, final)
    rows_of = [values if many else (values,) for _plan, values, many in statements]
    if final is not None:
        rows_of.append((final[1],))
    parameters = tuple([rows_of[index][number][name] for index, number, name in merged.raw])
    if final is not None:
        return [], (merged, parameters, False)
    return [(merged, parameters, False)], last


def _merged_plan(statements: list[_Statement], rows: list[int], final: _Statement | None) -> _Plan:
    """The merged statement of this shape, written with PostgreSQL's own placeholders ($1, $2…), each part's
    parameters numbered apart: psycopg would otherwise parse its SQL for `%(name)s` at every run, as past 50
    parameters or 4 KiB (a create's has ~90) it keeps no parsed copy (~100–170 µs of CPU a create, issue 17)."""
    order: dict[tuple[int, int, str], int] = {}  # (part, row, name) → its $n

    def numbered(sql: str, index: int, number: int) -> str:
        def placeholder(match: re.Match) -> str:
            return f"${order.setdefault((index, number, match.group(1)), len(order) + 1)}"
        return _PARAMETER.sub(placeholder, sql).replace("%%", "%")  # in a raw statement a % is itself

    queries = []
    for index, ((plan, _, _), count) in enumerate(zip(statements, rows, strict=True)):
        if plan.insert is None:  # a DELETE
            queries.append(numbered(plan.sql, index, 0))
            continue
        _table, head, row = plan.insert
        queries.append(numbered(head, index, 0) + ", ".join(numbered(row, index, number) for number in range(count)))
    if final is not None:
        main = numbered(final[0].sql, len(statements), 0)
        row_type, result_types = final[0].row_type, final[0].result_types
    else:
        main, queries = queries[-1], queries[:-1]
        row_type, result_types = None, []
    sql = "WITH " + ", ".join(f"m{index} AS ({query})" for index, query in enumerate(queries)) + " " + main
    plan = _Plan(sql, True, (), row_type, result_types)
    plan.raw = tuple(order)  # in the order of their numbers: a dict keeps its keys in the order they came
    return plan
