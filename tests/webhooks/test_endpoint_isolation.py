"""Webhook delivery that isolates endpoints (issue 13, part 7): a hanging receiver holds one slot, not everyone's
notifications; each endpoint gets its own one at a time, in order; a receiver that answers too late is retried and
recognises the repeat by `X-Webhook-Id`."""

from __future__ import annotations

import threading

from webhook_helpers import Receiver, claim, claim_response, subscription

from fhirclaim.webhooks import WebhookDeliveryWorker, list_deliveries


def _responses(service, count: int) -> None:
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    for n in range(count):
        service(lambda s, n=n: s.update("ClaimResponse", f"r{n}", claim_response(f"r{n}", "c1")))


def test_a_hanging_receiver_does_not_hold_the_others(fhir, shared, service, worker, receiver):
    fast = Receiver()
    try:
        fhir.create(subscription(receiver.url))  # this one will hang
        fhir.create(subscription(fast.url))
        _responses(service, 3)
        receiver.hold.set()
        rounds = threading.Thread(target=worker.run_once)
        rounds.start()
        assert receiver.arrived.wait(30)  # the slow endpoint holds its first notification ...
        for _ in range(3):  # ... while the fast one gets all of its own
            fast.arrived.wait(30)
            fast.arrived.clear()
            if len(fast.received) == 3:
                break
        assert len(fast.received) == 3 and len(receiver.received) == 1  # one at a time for the hanging one
        receiver.release.set()
        rounds.join(60)
        assert not rounds.is_alive()
    finally:
        receiver.release.set()
        fast.close()
    bodies = [hit.envelope["data"]["fhir"]["id"] for hit in receiver.received]
    assert bodies == ["r0", "r1", "r2"]  # its own order, one after the other


def test_a_receiver_that_answers_too_late_is_retried_with_the_same_webhook_id(fhir, shared, service, runtime,
                                                                              settings, clock, receiver):
    fhir.create(subscription(receiver.url))
    _responses(service, 1)
    quick = settings.model_copy(update={"webhook_timeout_seconds": 0.2})
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets, quick, clock=clock)
    receiver.hold.set()
    try:
        assert worker.run_once() == 1  # handled by the receiver, but not in time: a failure here
    finally:
        receiver.release.set()
        receiver.hold.clear()
    [delivery] = list_deliveries(runtime.store)
    assert delivery["status"] == "pending"
    clock.advance(1)
    assert worker.run_once() == 1
    first, second = receiver.received
    assert first.headers["x-webhook-id"] == second.headers["x-webhook-id"]  # the receiver's key to deduplicate
