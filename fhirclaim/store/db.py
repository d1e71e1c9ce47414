"""Engine, sessions and schema migrations.

SQLite (the embedded default) gets WAL, `synchronous=FULL` (a 2xx write survives a crash) and a busy timeout;
write transactions start with `BEGIN IMMEDIATE` so that two writers queue instead of failing on a lock
upgrade. PostgreSQL needs none of that; its reads run without a transaction of their own (below) and a pooled
connection is pinged only when its server has said something since it was last used. The schema is owned by the
Alembic migrations in `migrations/`, applied on start under a lock so that several processes can start at once.

A URL fhirclaim cannot use (malformed, `postgres://`, an unknown or missing driver, a backend other than PostgreSQL
and SQLite) and a database it cannot reach are `StartupError`s, found before or at the first connection; PostgreSQL
connections give up after a short connect timeout instead of hanging.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import re
import select
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from fhirclaim.startup import StartupError, create_private_file, ensure_directory
from fhirclaim.store import statistics
from fhirclaim.store.socket_notices import NoticeBoard
from fhirclaim.store.transactions import ReadTransaction, WriterTurn, WriteTransaction

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK = 0x66686972  # "fhir": one process migrates at a time on PostgreSQL
SUPPORTED_BACKENDS = ("postgresql", "sqlite")
CONNECT_TIMEOUT_SECONDS = 10.0
BUSY_TIMEOUT_SECONDS = 60  # SQLite: how long a write waits for the one writer before it fails ("database is locked")
_POSTGRES_FORM = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME"
_URL_OPTIONS = "--database-url / FHIRCLAIM_DATABASE_URL"

# SQLite: the write-ahead log is copied into the database file (a checkpoint, run by the commit that crosses the
# mark) every this many pages, not SQLite's default 1000. A create logs ~52 pages (a leaf of each of the ~37
# tables and indexes it writes, and more); a checkpoint writes each page changed since the last one once, so the
# pages every write changes (the indexes' last leaves, the tables' roots) are written once per ~200 creates, not
# once per ~20: checkpoints wrote ~10.6 pages per create into the database file and read ~10 back from the log,
# now ~2.1 and ~2 (strace of `fhirclaim serve` under 400 Claim creates). The log
# file then grows to ~40 MB (kept for reuse). Commits stay durable either way (synchronous=FULL: the log is synced
# at every commit); a crash replays the log at the next start (issue 17).
WAL_CHECKPOINT_PAGES = 10_000

# A write a constraint refused (most often a unique key: another writer got there first), under a name code outside
# the store catches without importing SQLAlchemy.
ConstraintViolation = exc.IntegrityError


class Database:
    """The engine, reads (plain BEGIN) and writes (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, url: str, *, echo: bool = False, connect_timeout: float = CONNECT_TIMEOUT_SECONDS):
        self.url = url
        self.engine = _create_engine(check_database_url(url), echo, connect_timeout)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = _sqlite_writer(self.engine) if self.is_sqlite else self.engine
        self._writer_turn = WriterTurn(BUSY_TIMEOUT_SECONDS, lock_file=beside_sqlite_file(url, WRITER_LOCK)) \
            if self.is_sqlite else None
        # SQLite: other processes learn of what a commit queued from a datagram (PostgreSQL: its NOTIFY)
        notices = beside_sqlite_file(url, NOTICES)
        self.notices = NoticeBoard(notices) if notices is not None else None
        self._reads = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self, *, write: bool) -> Iterator[Session | WriteTransaction]:
        """A unit of work: committed when the block ends normally, rolled back when it raises. A write's is a
        `WriteTransaction` (an ORM session only if asked for one), on a connection held from the start."""
        if write:
            with self._writer.connect() as connection:
                with WriteTransaction(connection, reads_before_begin=self.is_sqlite,
                                      writer=self._writer_turn) as transaction:
                    yield transaction
                statistics.committed(self.engine)  # a refresh due runs when this connection goes back to the pool
            return
        with self._reads() as session:
            with session.begin():
                yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[ReadTransaction]:
        """A transaction that only reads (SQLite: BEGIN DEFERRED; PostgreSQL: each statement its own, above), on a
        plain connection: an ORM session is made only if something asks for one (`ReadTransaction`). It ends by
        being closed, which rolls it back: nothing to commit, and none of a commit's bookkeeping (issue 17). Nothing
        may write through it (on PostgreSQL a write would not be rolled back).

        PostgreSQL: each statement of a read is its own transaction (the driver's autocommit), as under a READ
        COMMITTED transaction each statement has its own snapshot anyway: no BEGIN and ROLLBACK round trips, and no
        ROLLBACK to make psycopg drop the statements it prepared (a DEALLOCATE ALL round trip after it). The driver's
        connection is switched to autocommit and back here rather than by SQLAlchemy's `isolation_level` option,
        which sets and resets both the autocommit and the isolation level on every checkout (~50 µs of CPU a read).
        A connection that cannot be switched back is discarded, never pooled in autocommit."""
        with self.engine.connect() as connection:
            connection.begin()  # now, not at the first statement: the prebuilt statements go to the driver directly
            transaction = ReadTransaction(connection)
            driver = None if self.is_sqlite else transaction.driver_connection
            try:
                if driver is not None:
                    driver.autocommit = True
                yield transaction
            finally:
                transaction.close()
                if driver is not None:
                    _leave_autocommit(connection, driver)

    def migrate(self, target: str = "heads") -> None:
        """Bring the schema to the newest migration, or to `target` (processes starting together queue on a
        lock)."""
        with self._connect() as connection:
            if not self.is_sqlite:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK})
            else:  # a migration that rebuilds a table must not cascade its drop (SQLite: outside a transaction)
                _sqlite_foreign_keys(connection, on=False)
            try:
                config = AlembicConfig()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, target)
                connection.commit()
            finally:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK})
                    connection.commit()
                else:
                    connection.rollback()
                    _sqlite_foreign_keys(connection, on=True)
        statistics.keep_fresh(self.engine)  # SQLite's planner statistics, now and every thousand commits

    def dispose(self) -> None:
        self.engine.dispose()
        if self._writer_turn is not None:
            self._writer_turn.close()
        if self.notices is not None:
            self.notices.close()

    def connection_of_its_own(self):
        """The driver's connection, made as the pool makes its own but not the pool's: it takes no pooled slot,
        and closing it closes it (`notice_listener.py` holds one for as long as the process runs)."""
        pooled = self.engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()
        return driver

    def _connect(self) -> Connection:
        """The first connection of a process: one it cannot make is a StartupError saying what to check."""
        try:
            return self._writer.connect()
        except exc.DBAPIError as error:
            raise StartupError(_connect_failure(self.engine.url, error)) from error


def check_database_url(url: str) -> URL:
    """The parsed URL; StartupError when fhirclaim cannot use it, before any connection is tried."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StartupError(f"database URL {_masked(url)!r} is not a SQLAlchemy URL: use {_POSTGRES_FORM}, or "
                           f"sqlite:///PATH ({_URL_OPTIONS}; leave it unset for SQLite in the data dir)") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "postgres":
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise StartupError(f"database URL {shown}: SQLAlchemy 2 does not accept the dialect name 'postgres'; "
                           f"write postgresql+psycopg://… instead, e.g. {fixed} ({_URL_OPTIONS})")
    try:
        dialect = parsed.get_dialect()
    except exc.NoSuchModuleError:
        raise StartupError(f"database URL {shown}: unknown database driver {parsed.drivername!r}; use "
                           f"{_POSTGRES_FORM}, or sqlite:///PATH ({_URL_OPTIONS})") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise StartupError(f"database URL {shown}: fhirclaim runs on PostgreSQL or SQLite, not "
                           f"{parsed.get_backend_name()}; use {_POSTGRES_FORM}, or sqlite:///PATH ({_URL_OPTIONS})")
    if getattr(dialect, "is_async", False):
        raise StartupError(f"database URL {shown}: {parsed.get_driver_name()} is an asyncio driver, which fhirclaim "
                           f"does not use; write postgresql+psycopg://… ({_URL_OPTIONS})")
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise StartupError(f"database URL {shown}: its driver {parsed.get_driver_name()} is not installed (no "
                           f"module {error.name or error}); install it, or use postgresql+psycopg://… (psycopg "
                           f"comes with fhirclaim)") from None
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (absolute); None for another backend, an in-memory database or a malformed URL."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


# What fhirclaim keeps beside a SQLite database's file, as SQLite keeps its -wal and -shm: the lock its processes
# take in turn to write (`WriterTurn`), and the directory where they meet for commit notices (`socket_notices.py`)
WRITER_LOCK, NOTICES = "-writer.lock", "-notices"


def beside_sqlite_file(url: str, suffix: str) -> Path | None:
    """`<database file><suffix>` of a SQLite URL; None for another backend or an in-memory database."""
    path = sqlite_path(url)
    return path.with_name(path.name + suffix) if path is not None else None


def describe_url(url: str) -> str:
    """A database URL as it may be shown: a SQLite file's path, else the URL with its password hidden."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return without_password(url)
    except exc.ArgumentError:
        return _masked(url)


def without_password(url: str) -> str:
    """The URL as it may be logged: the same URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _masked(url: str) -> str:
    """An unparseable URL as it may be shown: whatever sits between `:` and `@` (a password) hidden."""
    return re.sub(r":[^:@/]*@", ":***@", url)


def _connect_failure(url: URL, error: exc.DBAPIError) -> str:
    reason = str(error.orig) if error.orig is not None else str(error)
    if url.get_backend_name() == "sqlite":
        path = url.database or ":memory:"
        if "not a database" in reason:
            return (f"{path} is not a SQLite database ({reason}): restore it from a backup, or point --data-dir / "
                    f"FHIRCLAIM_DATA_DIR (or {_URL_OPTIONS}) at the right one")
        return (f"cannot open the SQLite database {path} ({reason}): check that it and its directory are writable, "
                f"or point --data-dir / FHIRCLAIM_DATA_DIR (or {_URL_OPTIONS}) elsewhere")
    return (f"cannot connect to the database {url.render_as_string(hide_password=True)}: {reason} — check that the "
            f"database server runs and is reachable from here, and {_URL_OPTIONS}")


def _create_engine(url: URL, echo: bool, connect_timeout: float) -> Engine:
    if url.get_backend_name() != "sqlite":
        connect_args = {}
        if url.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = max(1, math.ceil(connect_timeout))  # libpq takes whole seconds
        engine = create_engine(url, echo=echo, future=True, connect_args=connect_args)
        event.listen(engine, "checkout", functools.partial(_ping_if_the_server_spoke, engine.dialect))
        return engine
    path = sqlite_path(url.render_as_string(hide_password=False))
    if path is not None:
        ensure_directory(path.parent, what="the SQLite database's directory",
                         fix="point --data-dir / FHIRCLAIM_DATA_DIR (or --database-url) at a writable directory")
        create_private_file(path)  # 0600 before SQLite makes it (and its -wal, -shm) with the umask's mode
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        for pragma in (f"busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}", "journal_mode=WAL", "synchronous=FULL",
                       "foreign_keys=ON", f"wal_autocheckpoint={WAL_CHECKPOINT_PAGES}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    engine.dialect.do_begin = functools.partial(_sqlite_begin, "DEFERRED")
    return engine


def _leave_autocommit(connection: Connection, driver) -> None:
    """The driver's connection back out of autocommit (`Database.reading`) before it returns to the pool; when that
    fails (the connection broke, or a transaction was begun by hand and is open), it is discarded instead."""
    try:
        driver.autocommit = False
    except Exception:  # noqa: BLE001 — whatever the driver says, the connection must not be pooled as it is
        connection.invalidate()


def _ping_if_the_server_spoke(dialect, dbapi_connection, _record, _proxy) -> None:
    """A pooled PostgreSQL connection, as it is checked out: pinged (a round trip) only when the server sent it
    something since it was last used, which an idle connection is sent only when it is being ended (the server
    shutting down or restarting, an administrator's pg_terminate_backend, an idle timeout: the server's last words
    and the socket's end). A ping that fails discards the connection and the pool checks out another, as SQLAlchemy's
    `pool_pre_ping` does; that one pings every checkout, a round trip a read cannot spare (issue 17)."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        quiet = not poller.poll(0)
    except Exception:  # a connection already closed on this side has no socket to ask
        quiet = False
    if quiet:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        raise exc.DisconnectionError(f"the database server ended this pooled connection: {error}") from error


def _sqlite_writer(engine: Engine) -> Engine:
    """The engine write transactions run on: the same pool and listeners, beginning with BEGIN IMMEDIATE.

    With the driver's own transaction handling off (`isolation_level = None`, above) SQLite transactions are begun by
    the dialect's `do_begin`, on the driver's connection: one statement, without SQLAlchemy's statement machinery.
    SQLAlchemy's recipe does it in a `begin` listener, but any connection event listener makes every statement of
    the engine dispatch its events (issue 17). A failure (a lock held past the busy timeout) is SQLAlchemy's error,
    as for any statement."""
    writer = engine.execution_options()
    dialect = writer.dialect = copy.copy(engine.dialect)  # its own `do_begin`; everything else shared
    dialect.do_begin = functools.partial(_sqlite_begin, "IMMEDIATE")

    @event.listens_for(engine, "connect")
    def _as_initialized(_dbapi_connection, _record) -> None:
        """What the engine's first connection taught its dialect (the server version, …), the writer's knows too
        (this runs after SQLAlchemy's own first-connect listener)."""
        dialect.__dict__.update({k: v for k, v in engine.dialect.__dict__.items() if k != "do_begin"})

    return writer


def _sqlite_begin(mode: str, dbapi_connection) -> None:
    dbapi_connection.driver_connection.execute(f"BEGIN {mode}")


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """SQLite's foreign key enforcement, switched on the driver connection (the pragma is ignored inside a
    transaction, and SQLAlchemy's own execute would begin one)."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def insert_for(session: Session):
    """The dialect's INSERT construct, which knows ON CONFLICT (PostgreSQL and SQLite spell it the same way)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
