"""Fixtures of the claim pipeline tests: the server's runtime on the embedded (in-process) E-Klaim, or on an
emulated E-Klaim served over real HTTP on a local port, and E-Klaim's own records of either."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flow510_kit import Eklaim510, eklaim_stack
from pipeline_kit import CODER_NAME, CODER_NIK, EKlaimLedger, FlakyTransport, serve_wsgi

from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.eklaim import EKlaimClient, InProcessTransport, crypto
from fhirclaim.eklaim.emulator import EmulatorApp, EmulatorConfig, create_emulator_app


@dataclass
class HttpEKlaim:
    """An emulated E-Klaim on a local port, as a hospital's own E-Klaim would be reached."""

    url: str
    key: str
    app: EmulatorApp


@dataclass
class Stack:
    mode: str  # in-process | http
    runtime: object
    ledger: EKlaimLedger


@pytest.fixture
def settings(settings):
    """These tests follow the E-Klaim 5.1 flow (its steps, its methods); the 5.10 flow has test_flow_510*.py."""
    return settings.model_copy(update={"eklaim_protocol": "5.1"})


@pytest.fixture(scope="session")
def grouper():
    from fhirclaim.inacbg.grouper import Grouper

    return Grouper()


@pytest.fixture
def http_eklaim(tmp_path, grouper) -> Iterator[HttpEKlaim]:
    key = crypto.generate_key()
    app = create_emulator_app(EmulatorConfig(key_hex=key, database_url=f"sqlite:///{tmp_path / 'eklaim-http.db'}",
                                             grouper=grouper, protocol="5.1"))
    app.register_coder(CODER_NIK, CODER_NAME)  # E-Klaim's Personnel menu: a real E-Klaim never does it for us
    url, stop = serve_wsgi(app)
    yield HttpEKlaim(url, key, app)
    stop()
    app.close()


@pytest.fixture
def ledger(runtime) -> EKlaimLedger:
    """E-Klaim's own records, for the default runtime (the embedded sandbox E-Klaim)."""
    return EKlaimLedger(runtime.sandbox.app)


@pytest.fixture(params=["in-process", "http"])
def stack(request, settings) -> Iterator[Stack]:
    """The server with the embedded E-Klaim, and with an E-Klaim reached over HTTP (Settings.eklaim_url/key)."""
    from fhirclaim.runtime import Runtime

    if request.param == "http":
        eklaim = request.getfixturevalue("http_eklaim")
        runtime = Runtime(settings.model_copy(update={"eklaim_url": eklaim.url, "eklaim_key": eklaim.key}))
        app = eklaim.app
    else:
        runtime = Runtime(settings)
        app = runtime.sandbox.app
    yield Stack(request.param, runtime, EKlaimLedger(app))
    runtime.close()


@pytest.fixture
def flaky(runtime) -> FlakyTransport:
    """The pipeline's E-Klaim (the embedded one) behind a transport that can go down."""
    transport = FlakyTransport(InProcessTransport(runtime.sandbox.app), runtime.sandbox.key)
    gateway = EKlaimGateway(EKlaimClient(transport, runtime.sandbox.key, sleep=lambda _: None),
                            register_coder=runtime.sandbox.register_coder)
    runtime.tenant_policy.eklaim_gateway = lambda tenant: gateway
    return transport


@pytest.fixture
def on510(tmp_path, settings, grouper) -> Iterator[Eklaim510]:
    """The server on an emulated E-Klaim 5.10 over HTTP, its wire seen (flow510_kit)."""
    yield from eklaim_stack(tmp_path, settings, grouper, "5.10")


@pytest.fixture
def on51(tmp_path, settings, grouper) -> Iterator[Eklaim510]:
    """The same on E-Klaim 5.1."""
    yield from eklaim_stack(tmp_path, settings, grouper, "5.1")
