"""Engine, sessions and schema migrations.

SQLite (the embedded default) gets WAL, `synchronous=FULL` (a 2xx write survives a crash) and a busy timeout;
write transactions start with `BEGIN IMMEDIATE` so that two writers queue instead of failing on a lock
upgrade. PostgreSQL needs none of that. The schema is owned by the Alembic migrations in `migrations/`,
applied on start under a lock so that several processes can start at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK = 0x66686972  # "fhir": one process migrates at a time on PostgreSQL


class Database:
    """The engine and two session factories: reads (plain BEGIN) and writes (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.engine = _create_engine(url, echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self._writer, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """A unit of work: committed when the block ends normally, rolled back when it raises."""
        factory = self._writes if write else self._reads
        with factory() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration (processes starting together queue on a lock)."""
        with self._writer.connect() as connection:
            if not self.is_sqlite:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK})
            try:
                config = AlembicConfig()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK})
                    connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, echo: bool) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        for pragma in ("busy_timeout=60000", "journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
