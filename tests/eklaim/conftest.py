"""Fixtures for the E-Klaim client and emulator: a key made at run time, the emulator app (in-memory SQLite, a fixed
clock), clients over the in-process transport and over real HTTP (waitress on a free local port)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from eklaim_kit import CODER_NAME, CODER_NIK, START  # noqa: F401  (re-exported for fixtures)
from werkzeug.serving import make_server

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.emulator import EmulatorApp, EmulatorConfig, create_emulator_app
from fhirclaim.eklaim.transport import HttpTransport, InProcessTransport
from fhirclaim.inacbg.grouper import Grouper


class Clock:
    """The emulator's clock in tests: fixed, moved on by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def grouper() -> Grouper:
    """The project's INA-CBG grouper emulator, loaded once (the emulator would load the same by default)."""
    return Grouper()


@pytest.fixture
def key() -> str:
    return crypto.generate_key()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def make_app(key, grouper, clock) -> Iterator[Callable[..., EmulatorApp]]:
    apps: list[EmulatorApp] = []

    def build(**overrides: Any) -> EmulatorApp:
        settings: dict[str, Any] = {"key_hex": key, "coders": [(CODER_NIK, CODER_NAME)], "grouper": grouper,
                                    "clock": clock, "protocol": "5.1"}
        settings.update(overrides)
        app = create_emulator_app(EmulatorConfig(**settings))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app) -> EmulatorApp:
    return make_app()


@pytest.fixture
def client(app, key) -> EKlaimClient:
    """The project's client against the emulator, in process, through the full encrypt/decrypt path."""
    return EKlaimClient(InProcessTransport(app), key)


@pytest.fixture
def debug_client(app, key) -> EKlaimClient:
    return EKlaimClient(InProcessTransport(app), key, debug=True)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve a WSGI app over real HTTP on a free local port (werkzeug's threaded server, which stops cleanly;
    the standalone command's waitress is tested in test_server.py); returns the ws.php URL."""
    servers = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}/E-Klaim/ws.php"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_transport(serve) -> Iterator[Callable[..., HttpTransport]]:
    """HttpTransport factory; its keep-alive sessions close before the servers stop."""
    transports: list[HttpTransport] = []

    def make(url: str, timeout: float = 10) -> HttpTransport:
        transports.append(HttpTransport(url, timeout=timeout))
        return transports[-1]

    yield make
    for transport in transports:
        transport.close()


@pytest.fixture
def http_client(app, key, serve, http_transport) -> EKlaimClient:
    return EKlaimClient(http_transport(serve(app)), key)
