"""At-least-once across crashes: the outbox row commits with the change, so a restart delivers it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from webhook_helpers import SECRET, claim, claim_response, subscription

from fhirclaim import webhooks
from fhirclaim.runtime import Runtime
from fhirclaim.webhooks import list_deliveries

WRITER = Path(__file__).with_name("killed_writer.py")


@pytest.fixture
def subscribed(fhir, shared, service, worker, receiver):
    fhir.create(subscription(receiver.url))
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))


def _restarted(settings, clock) -> tuple[Runtime, webhooks.WebhookDeliveryWorker]:
    fresh = Runtime(settings, clock=clock)
    return fresh, fresh.webhook_worker


def test_a_change_written_with_no_worker_is_delivered_by_a_new_runtime(subscribed, runtime, settings, service,
                                                                       receiver, clock):
    service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
    runtime.close()  # the server goes away before any delivery
    assert receiver.received == []

    fresh, worker = _restarted(settings, clock)
    try:
        assert worker.run_once() == 1
    finally:
        fresh.close()
    [hit] = receiver.received
    assert hit.signed_with(SECRET) and hit.envelope["data"]["fhir"]["id"] == "r1"


def _writer(settings, mode: str) -> subprocess.Popen:
    resource = json.dumps(claim_response("r1", "c1"))
    return subprocess.Popen([sys.executable, str(WRITER), str(settings.data_dir), settings.resolved_database_url(),
                             mode, resource], stderr=subprocess.PIPE)


def test_a_process_killed_after_the_commit_loses_no_notification(subscribed, runtime, settings, receiver, clock):
    process = _writer(settings, "after-commit")
    _, errors = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, errors.decode()
    assert receiver.received == []
    [waiting] = list_deliveries(runtime.store)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)

    clock.advance(60)  # the server comes back a minute later (the writer used the real clock)
    fresh, worker = _restarted(settings, clock)
    try:
        assert worker.run_once() == 1
    finally:
        fresh.close()
    [hit] = receiver.received
    assert hit.signed_with(SECRET) and hit.headers["x-webhook-id"] == waiting["transaction_id"]


def test_a_process_killed_mid_delivery_is_delivered_again_after_its_lease(subscribed, runtime, settings, receiver,
                                                                          clock):
    receiver.hold.set()  # the receiver keeps the first POST open until the writer is dead
    process = _writer(settings, "mid-delivery")
    try:
        assert receiver.arrived.wait(120), "the writer's worker never sent the notification"
    finally:
        process.kill()
        _, errors = process.communicate(timeout=60)
    receiver.hold.clear()
    receiver.release.set()
    assert process.returncode == -signal.SIGKILL, errors.decode()
    [leased] = list_deliveries(runtime.store)
    assert (leased["status"], leased["attempt_log"]) == ("pending", [])  # sent, but no 2xx was ever recorded

    fresh, worker = _restarted(settings, clock)
    try:
        assert worker.run_once() == 0  # the dead worker's lease still holds
        clock.advance(120)
        assert worker.run_once() == 1
    finally:
        fresh.close()
    first, second = receiver.received
    assert first.body == second.body and first.headers["x-webhook-id"] == second.headers["x-webhook-id"]
    assert second.signed_with(SECRET)
    assert list_deliveries(runtime.store)[0]["status"] == "delivered"
