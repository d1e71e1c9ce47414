"""Retries on the backoff schedule (time injected, no sleeping), dead letters, Subscription error, replay."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
import requests
from webhook_helpers import SECRET, Receiver, claim, claim_response, subscription

from fhirclaim.backoff import Backoff
from fhirclaim.store.outbox import DeliveryRow
from fhirclaim.store.unit_of_work import Store
from fhirclaim.webhooks import SYSTEM_AUTHOR, WebhookDeliveryWorker, dead_letters, list_deliveries, replay


@pytest.fixture
def change(fhir, shared, service, receiver):
    """A Subscription and one matching ClaimResponse: one delivery waiting."""
    def make(response_id: str = "r1") -> None:
        service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
        service(lambda s: s.update("ClaimResponse", response_id, claim_response(response_id, "c1")))
    sub = fhir.create(subscription(receiver.url))
    make()
    make.subscription = sub
    return make


def _offsets(delivery: dict, start: datetime) -> list[float]:
    return [round((datetime.fromisoformat(a["at"].replace("Z", "+00:00")) - start).total_seconds(), 3)
            for a in delivery["attempt_log"]]


def _step_until_quiet(worker, clock, delays: list[float]) -> None:
    """Run the worker, then move the clock by each delay and run it again (one attempt per step)."""
    assert worker.run_once() == 1
    for delay in delays:
        clock.advance(delay - 0.001)
        assert worker.run_once() == 0, "an attempt came before its time"
        clock.advance(0.001)
        assert worker.run_once() == 1


def test_a_failing_receiver_is_retried_on_the_schedule_until_it_answers(change, worker, receiver, clock):
    receiver.fail_next(3, status=503)
    start = clock()
    _step_until_quiet(worker, clock, [1, 2, 4])

    [delivery] = list_deliveries(worker.store)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 4
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 503, 200]
    assert [a["error"] for a in delivery["attempt_log"]][:1] == ["HTTP 503 Service Unavailable"]
    assert _offsets(delivery, start) == [0, 1, 3, 7]
    # every attempt sends the same signed bytes with the same id: the receiver can deduplicate
    assert len({r.body for r in receiver.received}) == 1
    assert len({r.headers["x-webhook-id"] for r in receiver.received}) == 1
    assert all(r.signed_with(SECRET) for r in receiver.received)
    timestamps = [int(r.headers["x-webhook-timestamp"]) for r in receiver.received]
    assert [t - timestamps[0] for t in timestamps] == [0, 1, 3, 7]  # the header is the attempt's time


def test_exhaustion_makes_a_dead_letter_and_the_subscription_error_then_replay_delivers(
        change, runtime, fhir, worker, receiver, clock):
    receiver.fail_next(10, status=500)
    start = clock()
    _step_until_quiet(worker, clock, [1, 2, 4, 8, 16, 32, 64, 128, 256])  # 10 attempts, the default
    clock.advance(3600)
    assert worker.run_once() == 0  # dead: never tried again by itself

    [dead] = dead_letters(worker.store)
    assert (dead["status"], dead["attempts"], dead["last_status_code"]) == ("dead", 10, 500)
    assert _offsets(dead, start) == [0, 1, 3, 7, 15, 31, 63, 127, 255, 511]
    sub_id = change.subscription["id"]
    errored = fhir.get(f"/Subscription/{sub_id}").get_json()
    assert errored["status"] == "error"
    assert dead["transaction_id"] in errored["error"] and "10 attempts" in errored["error"]
    assert "HTTP 500" in errored["error"]
    with runtime.store.unit_of_work() as uow:
        latest = uow.resources.history("Subscription", sub_id).versions[0]
    assert latest.author == SYSTEM_AUTHOR

    change("r2")  # while in error, the Subscription is not active: nothing is queued for it
    assert len(list_deliveries(worker.store)) == 1

    replayed = replay(worker.store, dead["id"], clock=clock)
    assert (replayed["status"], replayed["attempts"], replayed["replays"]) == ("pending", 0, 1)
    active = fhir.get(f"/Subscription/{sub_id}").get_json()
    assert active["status"] == "active" and "error" not in active
    assert worker.run_once() == 1
    [delivered] = list_deliveries(worker.store, status="delivered")
    assert delivered["id"] == dead["id"]
    assert len(delivered["attempt_log"]) == 11 and delivered["attempt_log"][-1]["status_code"] == 200
    assert len(receiver.received) == 11
    assert receiver.received[-1].body == receiver.received[0].body and receiver.received[-1].signed_with(SECRET)


def test_unreachable_receiver_and_redirects_are_failures(change, runtime, worker, receiver, clock):
    receiver.fail_next(1, status=302)  # a redirect is not followed: the signed body goes where it was told
    worker.run_once()
    receiver.close()  # now nothing listens on that port
    clock.advance(1)
    worker.run_once()
    [delivery] = list_deliveries(worker.store)
    assert delivery["status"] == "pending"
    first, second = delivery["attempt_log"]
    assert (first["status_code"], first["error"]) == (302, "HTTP 302 Found")
    assert (second["status_code"], second["error"]) == (None, "could not connect to the endpoint")
    assert str(receiver.server.server_address[1]) not in second["error"]  # no address or port to learn from


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(change, runtime, settings, clock, receiver):
    quick = settings.model_copy(update={"webhook_timeout_seconds": 0.2})
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets, quick, clock=clock)
    receiver.hold.set()
    try:
        assert worker.run_once() == 1
    finally:
        receiver.release.set()
    [delivery] = list_deliveries(worker.store)
    assert (delivery["last_error"], delivery["last_status_code"]) == ("the endpoint did not answer in time", None)


def test_jitter_spreads_the_delay_by_the_injected_random_source(change, runtime, settings, clock, receiver):
    spread = settings.model_copy(update={"webhook_backoff_jitter": 0.5, "webhook_backoff_initial_seconds": 10})
    worker = WebhookDeliveryWorker(runtime.store, runtime.secrets, spread, clock=clock, rng=random.Random(7))
    receiver.fail_next(1)
    worker.run_once()
    expected = Backoff(10, 2, 3600, 0.5).delay(1, random.Random(7))
    assert 5 <= expected <= 15 and expected != 10
    with runtime.store.database.session(write=False) as session:
        row = session.query(DeliveryRow).one()
        waited = (row.next_attempt_at - clock().astimezone(timezone.utc).replace(tzinfo=None)).total_seconds()
    assert waited == pytest.approx(expected, abs=1e-3)


class _Crash(BaseException):
    """Stands for the process dying in the middle of a POST (nothing after it runs)."""


class _CrashingSession(requests.Session):
    def post(self, *args, **kwargs):
        raise _Crash


def test_a_crashed_workers_row_is_sent_again_when_its_lease_runs_out(change, runtime, settings, clock, receiver):
    crashing = WebhookDeliveryWorker(runtime.store, runtime.secrets, settings, clock=clock, http=_CrashingSession())
    with pytest.raises(_Crash):
        crashing.run_once()
    [leased] = list_deliveries(runtime.store)
    assert (leased["status"], leased["attempts"], leased["attempt_log"]) == ("pending", 0, [])

    survivor = WebhookDeliveryWorker(runtime.store, runtime.secrets, settings, clock=clock)
    assert survivor.run_once() == 0  # still leased by the dead worker
    clock.advance(3 * settings.webhook_timeout_seconds + 30)
    assert survivor.run_once() == 1
    assert list_deliveries(runtime.store)[0]["status"] == "delivered"
    assert len(receiver.received) == 1 and receiver.received[0].signed_with(SECRET)


def test_workers_share_the_outbox_and_each_row_is_sent_once(fhir, shared, service, runtime, settings, clock):
    """Several workers on one database (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: serialised claims)."""
    receiver = Receiver()
    try:
        fhir.create(subscription(receiver.url))
        service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
        for n in range(24):
            service(lambda s, n=n: s.update("ClaimResponse", f"r{n}", claim_response(f"r{n}", "c1")))
        workers = [WebhookDeliveryWorker(Store(runtime.database, timezone_name=runtime.store.timezone),
                                         runtime.secrets, settings, clock=clock) for _ in range(3)]
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            counts = list(pool.map(lambda w: w.run_once(), workers))
        assert sum(counts) == 24
        ids = [r.headers["x-webhook-id"] for r in receiver.received]
        assert len(ids) == 24 and len(set(ids)) == 24
        assert {d["status"] for d in list_deliveries(runtime.store)} == {"delivered"}
    finally:
        receiver.close()


def test_replay_refuses_unknown_and_pending_deliveries(change, worker):
    from fhirclaim.fhir.outcome import FhirError

    [pending] = list_deliveries(worker.store)
    with pytest.raises(FhirError) as still_pending:
        replay(worker.store, pending["id"])
    assert still_pending.value.status == 409
    with pytest.raises(FhirError) as unknown:
        replay(worker.store, 987654)
    assert unknown.value.status == 404


def test_a_subscription_stored_without_a_secret_is_never_sent_unsigned(fhir, shared, service, runtime, worker,
                                                                       receiver, clock):
    """Written past the interceptor (e.g. before it was installed): the worker refuses to send it unsigned."""
    raw = subscription(receiver.url, secret=None, status="active")
    with runtime.store.unit_of_work() as uow:
        uow.resources.create(raw, resource_id="unsigned")
        uow.subscription_epoch.advance()  # what the FHIR service's listener does for every Subscription write
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
    assert worker.run_once() == 1
    [delivery] = list_deliveries(worker.store)
    assert delivery["last_error"] == "no usable signing secret is stored for the Subscription"
    assert receiver.received == []
