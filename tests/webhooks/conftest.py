"""Fixtures for the webhook tests: the test Runtime on a settable clock (its webhook parts and delivery worker run
by it), a receiver."""

from __future__ import annotations

import pytest
from webhook_helpers import Clock, Receiver, seed_shared

from fhirclaim import webhooks


@pytest.fixture
def settings(settings):
    """The shared settings, with no jitter so that the retry schedule is exact."""
    return settings.model_copy(update={"webhook_backoff_jitter": 0, "webhook_timeout_seconds": 5})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(settings, clock):
    from fhirclaim.runtime import Runtime

    rt = Runtime(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def worker(runtime) -> webhooks.WebhookDeliveryWorker:
    return runtime.webhook_worker


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def service(runtime, worker):
    """A system-scope FHIR service in its own committed unit of work per call: `service(lambda s: ...)`."""
    def run(action, scope=None):
        from fhirclaim.store.scope import SYSTEM

        with runtime.store.unit_of_work(scope or SYSTEM) as uow:
            return action(runtime.fhir_service(uow, author="test"))
    return run


@pytest.fixture
def shared(service):
    service(seed_shared)
