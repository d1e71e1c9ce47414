"""One sender per Subscription across worker processes (issue 13, part 7): each worker here has its own engine
and sessions, as a process would. On PostgreSQL the claims really overlap; SQLite serialises writers, so there
the same assertions hold trivially."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import text
from webhook_helpers import Receiver, claim, claim_response, subscription

from fhirclaim.clock import naive_utc
from fhirclaim.store.db import Database
from fhirclaim.store.unit_of_work import Store
from fhirclaim.store.webhook_senders import SenderLeases
from fhirclaim.webhooks import WebhookDeliveryWorker, list_deliveries


def _responses(service, count: int) -> list[str]:
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    ids = [f"r{n}" for n in range(count)]
    for response_id in ids:
        service(lambda s, r=response_id: s.update("ClaimResponse", r, claim_response(r, "c1")))
    return ids


def _claim(database: Database, worker: str, now, until) -> tuple[str, str] | None:
    with database.session(write=True) as session:
        row = SenderLeases(session).claim_next(worker, now, until)
        return None if row is None else (row.subscription_id, row.resource_id)


def _until_one_waits_on_a_lock(database: Database) -> None:
    """PostgreSQL: wait (a condition, bounded) until a session of this database waits on a row lock. SQLite: the
    second writer waits for the first's BEGIN IMMEDIATE, which nothing shows; the test holds either way."""
    if database.is_sqlite:
        return
    check = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    pause = threading.Event()
    for _ in range(3000):
        with database.engine.connect() as connection:
            if connection.execute(check).scalar_one():
                return
        pause.wait(0.01)
    raise AssertionError("the second claim never waited on the first one's lease")


def test_a_second_worker_claiming_at_the_same_moment_takes_another_subscription(
        fhir, shared, service, settings, clock, receiver):
    other = Receiver()
    first, second = Database(settings.database_url), Database(settings.database_url)
    try:
        subscriptions = {fhir.create(subscription(endpoint.url))["id"] for endpoint in (receiver, other)}
        _responses(service, 2)  # rows: r0 for each Subscription, then r1 for each
        now = naive_utc(clock())
        until = now + timedelta(minutes=1)
        found = {}
        with first.session(write=True) as session:
            held = SenderLeases(session).claim_next("first", now, until)
            assert held.resource_id == "r0"
            held_sub, [other_sub] = held.subscription_id, subscriptions - {held.subscription_id}
            racer = threading.Thread(target=lambda: found.update(row=_claim(second, "second", now, until)))
            racer.start()
            _until_one_waits_on_a_lock(first)  # the second's claim is in flight while the first's is uncommitted
        racer.join(60)
        # not r1 of the Subscription the first worker is sending (its r0 is not delivered yet): the other one's head
        assert found["row"] == (other_sub, "r0")
        assert _claim(second, "third", now, until) is None  # both Subscriptions have their sender
        with first.session(write=True) as session:
            SenderLeases(session).release(held_sub, "first")
        assert _claim(second, "third", now, until) == (held_sub, "r0")  # still its head: r0 was never recorded
    finally:
        other.close()
        first.dispose()
        second.dispose()


def test_three_workers_deliver_each_subscription_once_in_order_one_at_a_time(
        fhir, shared, service, runtime, settings, clock, receiver):
    other = Receiver()
    databases = [Database(settings.database_url) for _ in range(3)]
    try:
        fhir.create(subscription(receiver.url))
        fhir.create(subscription(other.url))
        ids = _responses(service, 8)
        workers = [WebhookDeliveryWorker(Store(database, timezone_name=runtime.store.timezone), runtime.secrets,
                                         settings, clock=clock) for database in databases]
        with ThreadPoolExecutor(3) as pool:
            attempts = sum(pool.map(lambda w: w.run_once(), workers))
        attempts += workers[0].run_once()  # nothing is left for it: the holders went on until their rows were done
    finally:
        other.close()
        for database in databases:
            database.dispose()
    assert attempts == 16
    for endpoint in (receiver, other):
        assert endpoint.ids == ids  # each once, in the order written
        assert endpoint.most_in_flight == 1
        assert len({hit.headers["x-webhook-id"] for hit in endpoint.received}) == 8
    assert {d["status"] for d in list_deliveries(runtime.store)} == {"delivered"}
