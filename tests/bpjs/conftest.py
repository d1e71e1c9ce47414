"""Fixtures of the BPJS-K side tests: the server's runtime on a settable clock (BPJS-K's rules judge the decision
period by it, the simulator its grace period), with or without the simulator."""

from __future__ import annotations

import pytest
from bpjs_kit import Clock

from fhirclaim import bpjs


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(settings, request):
    """The shared settings; the BPJS-K simulator on (as `--sandbox` runs it) for a test that asks for `simulator`."""
    return settings.model_copy(update={"bpjs_simulator": "simulator" in request.fixturenames})


@pytest.fixture
def runtime(settings, clock):
    from fhirclaim.runtime import Runtime

    rt = Runtime(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def rules(runtime):
    """The runtime with the BPJS-K rules and no simulator: the tests answer as BPJS-K."""
    assert runtime.bpjs_simulator is None
    return runtime


@pytest.fixture
def simulator(runtime) -> bpjs.BpjsSimulator:
    """The runtime's BPJS-K simulator, run by the tests (`bpjs_kit.simulate`)."""
    return runtime.bpjs_simulator
