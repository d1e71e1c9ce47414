"""Strict order per Subscription (issue 13, part 7): while a Subscription's oldest undelivered notification backs
off, the later ones wait behind it; other Subscriptions keep going. Time is the injected clock."""

from __future__ import annotations

from webhook_helpers import Receiver, claim, claim_response, subscription

from fhirclaim.webhooks import WebhookDeliveryWorker, list_deliveries, replay


def _responses(service, *ids: str) -> None:
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    for response_id in ids:
        service(lambda s, r=response_id: s.update("ClaimResponse", r, claim_response(r, "c1")))


def test_a_backing_off_notification_holds_back_the_later_ones_of_its_subscription_only(
        fhir, shared, service, worker, receiver, clock):
    other = Receiver()
    try:
        fhir.create(subscription(receiver.url))
        fhir.create(subscription(other.url))
        _responses(service, "r0", "r1", "r2")
        receiver.fail_next(1)

        assert worker.run_once() == 4  # r0 fails at `receiver`; the other endpoint gets all three
        assert receiver.ids == ["r0"] and other.ids == ["r0", "r1", "r2"]
        assert worker.run_once() == 0  # r1 and r2 were due, but r0 is backing off ahead of them ...
        waiting = {d["resource"].split("/")[1]: d["next_attempt_at"]
                   for d in list_deliveries(worker.store, status="pending")}
        assert waiting["r1"] == waiting["r2"] == waiting["r0"]  # ... and they are held back to its next attempt
        clock.advance(0.999)
        assert worker.run_once() == 0
        clock.advance(0.001)
        assert worker.run_once() == 3
    finally:
        other.close()
    assert receiver.ids == ["r0", "r0", "r1", "r2"]
    assert {d["status"] for d in list_deliveries(worker.store)} == {"delivered"}


def test_a_dead_notification_lets_the_next_one_go_and_a_replay_goes_first(fhir, shared, service, runtime, settings,
                                                                         clock, receiver):
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets,
                                   settings.model_copy(update={"webhook_max_attempts": 2}), clock=clock)
    fhir.create(subscription(receiver.url))
    _responses(service, "r0", "r1")
    receiver.fail_next(2)
    assert worker.run_once() == 1
    clock.advance(1)
    assert worker.run_once() == 2  # r0's last attempt fails (dead), then r1, next in line, is delivered
    assert receiver.ids == ["r0", "r0", "r1"]

    _responses(service, "r2", "r3")  # r2 and r3 arrive while the Subscription is in error: not queued
    [dead] = list_deliveries(worker.store, status="dead")
    replay(worker.store, dead["id"], clock=clock)
    _responses(service, "r4")  # active again: queued behind the replayed one
    receiver.fail_next(1)
    assert worker.run_once() == 1  # the replayed r0 fails again ...
    assert worker.run_once() == 0  # ... and r4, written after it, waits
    clock.advance(1)
    assert worker.run_once() == 2
    assert receiver.ids == ["r0", "r0", "r1", "r0", "r0", "r4"]
