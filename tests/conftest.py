"""Shared pytest fixtures.

Test data lives in tests/fixtures, inside the repository (tests/fixtures/SOURCES.md says where each file came
from). The database is SQLite in a temporary directory, or — when FHIRCLAIM_DATABASE_URL names a PostgreSQL
server, as CI's second run does — a fresh database per test, cloned from a migrated template so that every test
starts empty.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from testkit import FIXTURES, FhirTestClient, authorized, load_fixture  # noqa: F401  (re-exported)

POSTGRES_URL = os.environ.get("FHIRCLAIM_DATABASE_URL", "")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


# --- databases --------------------------------------------------------------------------------------------


class _PostgresDatabases:
    """Clones a migrated template database for each test (CREATE DATABASE ... TEMPLATE is fast)."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.template = f"fhirclaim_tpl_{os.getpid()}"
        self.counter = itertools.count()
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}"')
        self._execute(f'CREATE DATABASE "{self.template}"')
        from fhirclaim.store.db import Database

        template = Database(self.url_of(self.template))
        template.migrate()
        template.dispose()

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"fhirclaim_t_{os.getpid()}_{next(self.counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop(self.template)
        self.admin.dispose()

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))


@pytest.fixture(scope="session")
def _postgres() -> Iterator[_PostgresDatabases | None]:
    if not POSTGRES_URL.startswith("postgresql"):
        yield None
        return
    databases = _PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    from fhirclaim.store.db import Database

    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture
def database_url(tmp_path, _postgres, _sqlite_template) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if _postgres is not None:
        name = _postgres.create()
        yield _postgres.url_of(name)
        _postgres.drop(name)
        return
    path = tmp_path / "data" / "fhirclaim.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_sqlite_template, path)
    yield f"sqlite:///{path}"


# --- the server ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _signing_keys(tmp_path_factory) -> Path:
    """One signing directory for the session — the CA and the examples' hospital's RSA key: generating a 3072-bit
    key per test would dominate the suite's time."""
    from fhirclaim.signing import HospitalSigning

    directory = tmp_path_factory.mktemp("keys") / "signing"
    signing = HospitalSigning(directory)
    signing.load()
    signing.current("10000004")  # testkit.HOSPITAL
    return directory


@pytest.fixture
def settings(tmp_path, database_url, _signing_keys):
    from fhirclaim.config import Settings

    data_dir = tmp_path / "data"
    shutil.copytree(_signing_keys, data_dir / "signing")
    # webhooks: the tests' receivers listen on 127.0.0.1, which only an explicit allowance opens (issue 13)
    return Settings(data_dir=data_dir, database_url=database_url, run_worker=False, webhook_allowed_hosts="127.0.0.1")


@pytest.fixture
def runtime(settings):
    from fhirclaim.runtime import Runtime

    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def app(settings, runtime):
    from fhirclaim.app import create_app

    return create_app(settings, runtime)


@pytest.fixture
def fhir(app) -> FhirTestClient:
    """A facility client of the examples' hospital (tenant 10000004), authenticated."""
    return authorized(app)


@pytest.fixture
def serve_wsgi(tmp_path) -> Iterator[Callable[[Any], Any]]:
    """Serves a WSGI app over real HTTP on a free local port by `fhirclaim serve`'s own waitress set-up
    (`server._listen`): `serve_wsgi(app)` answers the waitress server (its `effective_port`); each one served is
    stopped at teardown."""
    import threading

    from waitress import wasyncore

    from fhirclaim.config import Settings
    from fhirclaim.server import _listen

    served = []

    def serve(app):
        server = _listen(app, Settings(data_dir=tmp_path / "live-server", host="127.0.0.1", port=0))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        served.append((server, thread))
        return server

    yield serve
    for server, thread in served:
        # Its sockets closed in waitress's own loop (the trigger runs the thunk there), which then ends: closed from
        # this thread while the loop is in select(), they made it raise EBADF in its thread now and then (and
        # `server.close()` from here left the loop running).
        server.trigger.pull_trigger(lambda server=server: wasyncore.close_all(server._map))
        thread.join(timeout=5)
        assert not thread.is_alive(), "waitress's loop did not end"
        server.task_dispatcher.shutdown()


@pytest.fixture
def live_server(app, serve_wsgi) -> str:
    """The app served over real HTTP by `fhirclaim serve`'s own waitress set-up (`serve_wsgi`); the FHIR base URL."""
    return f"http://127.0.0.1:{serve_wsgi(app).effective_port}/fhir"


@pytest.fixture
def finds(monkeypatch) -> list[tuple[str, str]]:
    """Every (type, id) `SqlResourceRepository.find` is asked for from now on (tests of what a write reads)."""
    from fhirclaim.store.repository import SqlResourceRepository

    asked = []
    original = SqlResourceRepository.find

    def find(self, resource_type, resource_id):
        asked.append((resource_type, resource_id))
        return original(self, resource_type, resource_id)

    monkeypatch.setattr(SqlResourceRepository, "find", find)
    return asked
