"""Fixtures of the BPJS-K side tests: the server's runtime with the BPJS-K rules installed, with or without the
simulator, on a settable clock."""

from __future__ import annotations

import pytest
from bpjs_kit import Clock

from fhirclaim import bpjs


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rules(runtime, clock):
    """The runtime with the BPJS-K rules and no simulator: the tests answer as BPJS-K."""
    assert bpjs.install(runtime, simulator=False, clock=clock) is None
    return runtime


@pytest.fixture
def simulator(runtime, clock) -> bpjs.BpjsSimulator:
    """The runtime with the rules and the BPJS-K simulator (as `--sandbox` runs it)."""
    return bpjs.install(runtime, simulator=True, clock=clock)
