"""Admin functions (plain dicts, never a secret) and the worker's own thread."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select
from webhook_helpers import OTHER_SECRET, SECRET, claim, claim_response, subscription

from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.outbox import WebhookSecretRow
from fhirclaim.webhooks import dead_letters, get_delivery, list_deliveries, replay


@pytest.fixture
def two_subscriptions(fhir, shared, service, receiver):
    first = fhir.create(subscription(receiver.url))
    second = fhir.create(subscription(receiver.url, criteria="ClaimResponse?outcome=complete", secret=OTHER_SECRET))
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
    return first, second


def test_deliveries_are_listed_by_status_and_subscription(two_subscriptions, worker, receiver, clock):
    first, second = two_subscriptions
    receiver.fail_next(1, status=500)  # whichever goes first fails once
    worker.run_once()
    every = list_deliveries(worker.store)
    assert len(every) == 2
    assert {d["status"] for d in every} == {"pending", "delivered"}
    assert len(list_deliveries(worker.store, status="pending")) == 1
    assert len(list_deliveries(worker.store, status="delivered")) == 1
    mine = list_deliveries(worker.store, subscription=f"Subscription/{first['id']}")
    assert [d["subscription"] for d in mine] == [f"Subscription/{first['id']}"]
    assert list_deliveries(worker.store, subscription=second["id"])[0]["subscription"] == \
        f"Subscription/{second['id']}"
    assert dead_letters(worker.store) == []
    pending = list_deliveries(worker.store, status="pending")[0]
    assert pending["next_attempt_at"] is not None and pending["last_status_code"] == 500
    with pytest.raises(FhirError) as bad:
        list_deliveries(worker.store, status="lost")
    assert bad.value.status == 400


def test_admin_answers_never_carry_a_secret(two_subscriptions, runtime, worker):
    worker.run_once()
    with runtime.store.database.session(write=False) as session:
        encrypted = session.scalars(select(WebhookSecretRow.encrypted)).all()
    answers = [list_deliveries(worker.store), dead_letters(worker.store)]
    answers += [get_delivery(worker.store, d["id"]) for d in answers[0]]
    text = json.dumps(answers)
    for secret in (SECRET, OTHER_SECRET, *encrypted):
        assert secret not in text


def test_get_delivery_shows_the_envelope(two_subscriptions, worker, receiver):
    worker.run_once()
    delivery = list_deliveries(worker.store)[0]
    detail = get_delivery(worker.store, delivery["id"])
    assert detail["envelope"]["transaction_id"] == delivery["transaction_id"]
    assert detail["envelope"]["meta"]["method"] == "claimResponseSubmission"
    assert "envelope" not in delivery
    with pytest.raises(FhirError) as missing:
        get_delivery(worker.store, 424242)
    assert missing.value.status == 404


def test_a_delivered_notification_can_be_replayed(two_subscriptions, worker, receiver, clock):
    worker.run_once()
    delivery = list_deliveries(worker.store)[0]
    replayed = replay(worker.store, delivery["id"], clock=clock)
    assert (replayed["status"], replayed["replays"]) == ("pending", 1)
    assert worker.run_once() == 1
    same = [r for r in receiver.received if r.headers["x-webhook-id"] == delivery["transaction_id"]]
    assert len(same) == 2 and same[0].body == same[1].body


def test_replay_of_a_deleted_subscriptions_delivery_is_refused(two_subscriptions, fhir, worker):
    first, _ = two_subscriptions
    worker.run_once()
    assert fhir.delete(f"/Subscription/{first['id']}").status_code in (200, 204)
    [delivery] = list_deliveries(worker.store, subscription=first["id"])
    with pytest.raises(FhirError) as gone:
        replay(worker.store, delivery["id"])
    assert gone.value.status == 409


def test_the_worker_thread_delivers_until_stopped(fhir, shared, service, runtime, settings, receiver):
    from fhirclaim.webhooks import WebhookDeliveryWorker

    fast = settings.model_copy(update={"webhook_poll_seconds": 0.05})
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets, fast)  # the real clock
    fhir.create(subscription(receiver.url))
    worker.start()
    worker.start()  # idempotent: still one thread
    assert [t.name for t in threading.enumerate()].count("webhook-delivery") == 1
    try:
        service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
        service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
        assert receiver.arrived.wait(30)
    finally:
        worker.stop()
    assert "webhook-delivery" not in [t.name for t in threading.enumerate()]
    [hit] = receiver.received
    assert hit.signed_with(SECRET)


def test_a_queued_notification_wakes_the_served_delivery_worker(fhir, shared, service, runtime, settings, receiver):
    """In `fhirclaim serve` the commit that queued a notification wakes the delivery thread: with an hour's poll,
    only the wake-up can deliver it."""
    from fhirclaim.store import commit_notices
    from fhirclaim.webhooks import WebhookDeliveryWorker

    slow = settings.model_copy(update={"webhook_poll_seconds": 3600})
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets, slow)  # the real clock
    runtime.store.on_commit(commit_notices.WEBHOOK_QUEUED, worker.wake)  # as Runtime.start_workers does
    fhir.create(subscription(receiver.url))
    idle, run_once = threading.Event(), worker.run_once
    worker.run_once = lambda: (run_once(), idle.set())[0]
    worker.start()
    try:
        assert idle.wait(120)  # its first round found nothing: now it sleeps for the hour
        service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
        service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
        assert receiver.arrived.wait(120), "the delivery worker slept through the commit that queued a notification"
    finally:
        worker.stop()
    [hit] = receiver.received
    assert hit.signed_with(SECRET)
