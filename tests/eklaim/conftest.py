"""Fixtures for the E-Klaim client and emulator: a key made at run time, the emulator app (in-memory SQLite, a fixed
clock), clients over the in-process transport and over real HTTP (waitress on a free local port)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.emulator import EmulatorApp, EmulatorConfig, create_emulator_app
from fhirclaim.eklaim.messages import ClaimDataUpdate, NewClaim
from fhirclaim.eklaim.transport import HttpTransport, InProcessTransport
from fhirclaim.inacbg.grouper import Grouper

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MANUAL = json.loads((FIXTURES / "manual_2017_requests.json").read_text(encoding="utf-8"))
CODER_NIK = "123123123123"
CODER_NAME = "INACBG"
START = datetime(2024, 11, 10, 9, 30, 0)


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
                                    "clock": clock}
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


# --- sample claims ---------------------------------------------------------------------------------------------


def manual_request(method: str) -> dict[str, Any]:
    return copy.deepcopy(MANUAL[method])


def new_claim_from_manual(nomor_sep: str = "1710R01011160000249", nomor_rm: str = "123-45-67") -> NewClaim:
    data = MANUAL["new_claim"]["data"]
    return NewClaim(nomor_sep=nomor_sep, nomor_rm=nomor_rm, nama_pasien=data["nama_pasien"],
                    tgl_lahir=data["tgl_lahir"], gender=data["gender"], nomor_kartu=data["nomor_kartu"])


def manual_claim_data(**changes: Any) -> ClaimDataUpdate:
    """The manual's set_claim_data example as a ClaimDataUpdate (without its data.nomor_sep)."""
    data = {k: v for k, v in MANUAL["set_claim_data"]["data"].items() if k != "nomor_sep"}
    data.update(changes)
    return ClaimDataUpdate(**data)


def outpatient_claim_data(**changes: Any) -> ClaimDataUpdate:
    """A small, plain outpatient visit (no ICU, no class upgrade)."""
    data: dict[str, Any] = {"coder_nik": CODER_NIK, "nomor_kartu": "0000668870001",
                            "tgl_masuk": "2024-11-09 08:55:00", "tgl_pulang": "2024-11-09 10:10:00",
                            "jenis_rawat": "2", "kelas_rawat": "3", "discharge_status": "1",
                            "diagnosa": "J06.9", "procedure": "#", "tarif_rs": "250000",
                            "nama_dokter": "DR. ERNA", "kode_tarif": "AP", "payor_id": "3", "payor_cd": "JKN"}
    data.update(changes)
    return ClaimDataUpdate(**data)
