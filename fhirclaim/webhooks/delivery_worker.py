"""`WebhookDeliveryWorker`: sends due outbox rows, signed, with retries; at-least-once, in order per Subscription.

Each Subscription (endpoint) gets its notifications one at a time, in the order they were written: only its oldest
pending row is sent, and while that one backs off after a failure the later ones wait behind it. Who sends is
decided in the database (`store/webhook_senders.py`, reached through the unit of work's `webhook_deliveries`): a
worker first takes the Subscription's sender lease, in a short write transaction, so two workers (threads or
processes, on one PostgreSQL) never send rows of one Subscription at once nor the same row twice. The POST happens
outside any transaction; the outcome is recorded, and the lease given back, in a second one. Up to
`webhook_parallel_deliveries` POSTs are in flight at once, each for a different Subscription: a hanging receiver
holds one slot for at most its timeout and is then backed off, while the other endpoints go on.

A row is marked delivered only after a 2xx, so a worker that dies between the POST and the record keeps the lease
until it runs out, and the row is then sent again; a receiver that answers after the timeout gets the notification
again: a receiver may see a notification twice and recognises it by `X-Webhook-Id` (the envelope's
transaction_id).

Failures are retried on the `Backoff` schedule; after `webhook_max_attempts` the row is dead (the next one of its
Subscription goes next) and its Subscription gets `status: error` with the reason (a new version by
`system:webhooks`), until an admin replays. The clock and the random source are injectable, so tests step through
the schedule without sleeping.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests

from fhirclaim.backoff import Backoff
from fhirclaim.clock import Clock, naive_utc, utc_now
from fhirclaim.config import Settings
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.secrets import SecretBox, SecretError
from fhirclaim.store.outbox import CANCELLED, DEAD, DELIVERED, PENDING, DeliveryRow
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.unit_of_work import Store, UnitOfWork
from fhirclaim.webhooks import egress, sender, subscriptions
from fhirclaim.webhooks.secret_store import SubscriptionSecrets
from fhirclaim.webhooks.signature import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)

_STATUS_RETRIES = 3


@dataclass(frozen=True)
class Claim:
    """The head row of a Subscription whose sender lease this worker holds, with what sending it needs."""

    id: int
    transaction_id: str
    subscription_id: str
    body: bytes


class WebhookDeliveryWorker:
    def __init__(self, store: Store, secrets: SecretBox, settings: Settings, *, clock: Clock = utc_now,
                 rng: random.Random | None = None, http: requests.Session | None = None,
                 worker_id: str | None = None):
        self.store = store
        self.secrets = SubscriptionSecrets(secrets)
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 (retry jitter, not cryptography)
        self.http = http or sender.new_session(egress.EgressPolicy.from_settings(settings))
        self.worker_id = worker_id or f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.backoff = Backoff(settings.webhook_backoff_initial_seconds, settings.webhook_backoff_multiplier,
                               settings.webhook_backoff_max_seconds, settings.webhook_backoff_jitter)
        # long enough for one POST with its connect and read timeouts; then the Subscription is anyone's again
        self.lease = timedelta(seconds=3 * settings.webhook_timeout_seconds + 30)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_runtime(cls, runtime, **options) -> WebhookDeliveryWorker:
        return cls(runtime.store, runtime.secrets, runtime.settings, **options)

    # --- running -------------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Send every row that is due now (one attempt each), several Subscriptions in parallel; the number of
        attempts made."""
        attempts, slots = 0, self.settings.webhook_parallel_deliveries
        with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="webhook-post") as pool:
            running: set[Future] = set()
            while not self._stop.is_set():
                claim = self._claim() if len(running) < slots else None
                if claim is not None:
                    running.add(pool.submit(self._attempt, claim))
                    continue
                if not running:
                    break
                done, running = wait(running, return_when=FIRST_COMPLETED)  # a slot, or a Subscription, is free
                for future in done:
                    future.result()
                    attempts += 1
            for future in running:
                future.result()
                attempts += 1
        return attempts

    def _attempt(self, claim: Claim) -> None:
        try:
            self._deliver(claim)
        except Exception as exc:  # a bug or a broken Subscription: counted as a failed attempt, not a stuck row
            log.exception("webhook delivery failed inside the worker", extra={"delivery": claim.id})
            self._record(claim, sender.Outcome(None, f"internal error: {type(exc).__name__}", 0))

    def start(self) -> None:
        """Deliver in a daemon thread until `stop()`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="webhook-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A notification was queued (`store.on_commit`): look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the POST in flight (if any) and end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.settings.webhook_timeout_seconds * 3 + 5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end deliveries for good; the next poll retries
                log.exception("webhook delivery round failed")
            self._wake.wait(self.settings.webhook_poll_seconds)
            self._wake.clear()

    # --- one row -------------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return naive_utc(self.clock())

    def _claim(self) -> Claim | None:
        now = self._now()
        with self.store.unit_of_work() as uow:
            row = uow.webhook_deliveries.claim_head(self.worker_id, now, now + self.lease)
            return None if row is None else Claim(row.id, row.transaction_id, row.subscription_id, row.body)

    def _deliver(self, claim: Claim) -> None:
        with self.store.unit_of_work(write=False) as uow:
            subscription = subscriptions.find_subscription(uow, claim.subscription_id, timezone=self.store.timezone)
            try:
                secret = self.secrets.get(uow, claim.subscription_id) if subscription else None
            except SecretError:
                secret = None
        if subscription is None or subscription.content.get("status") == "off":
            self._record(claim, sender.Outcome(None, "the Subscription is off or deleted", 0), cancel=True)
            return
        endpoint = (subscription.content.get("channel") or {}).get("endpoint")
        if secret is None:
            outcome = sender.Outcome(None, "no usable signing secret is stored for the Subscription", 0)
        elif not endpoint:
            outcome = sender.Outcome(None, "the Subscription has no channel.endpoint", 0)
        else:
            outcome = sender.post(self.http, endpoint, claim.body, self._headers(subscription, claim, secret),
                                  self.settings.webhook_timeout_seconds)
        self._record(claim, outcome)

    def _headers(self, subscription: StoredResource, claim: Claim, secret: str) -> dict[str, str]:
        ours = {
            "Content-Type": "application/json",
            "User-Agent": sender.USER_AGENT,
            SIGNATURE_HEADER: sign(secret, claim.body),
            ID_HEADER: claim.transaction_id,
            TIMESTAMP_HEADER: str(int(self.clock().timestamp())),
        }
        taken = {name.lower() for name in ours}
        if not subscriptions.written_by_admin(subscription):  # no credentials or Host of a tenant's choosing
            taken |= egress.PRIVILEGED_HEADERS
        extra = {}
        # R4 channel.header: headers the subscriber asked for, but never in place of ours
        for line in (subscription.content.get("channel") or {}).get("header") or []:
            name, _, value = line.partition(":")
            if name.strip().lower() not in taken:
                extra[name.strip()] = value.strip()
        return {**extra, **ours}

    def _record(self, claim: Claim, outcome: sender.Outcome, *, cancel: bool = False) -> None:
        now = self._now()
        with self.store.unit_of_work() as uow:
            deliveries = uow.webhook_deliveries
            row = deliveries.get(claim.id, for_update=True)
            deliveries.release_sender(claim.subscription_id, self.worker_id)  # the next row may go now
            if row is None:
                return
            if not cancel:
                deliveries.add_attempt(row, now, outcome.status_code, outcome.error, outcome.duration_ms)
            if row.status != PENDING:  # finished meanwhile (by a worker that took over an expired lease)
                return
            row.last_status_code, row.last_error = outcome.status_code, outcome.error
            if cancel:
                row.status = CANCELLED
            else:
                self._advance(uow, row, outcome, now)
        log.info("webhook attempt", extra={"delivery": claim.id, "transaction_id": claim.transaction_id,
                                           "status_code": outcome.status_code, "state": row.status})

    def _advance(self, uow: UnitOfWork, row: DeliveryRow, outcome: sender.Outcome, now: datetime) -> None:
        row.attempts += 1
        if outcome.delivered:
            row.status, row.delivered_at = DELIVERED, now
        elif row.attempts >= self.settings.webhook_max_attempts:
            row.status = DEAD
            self._mark_subscription_error(uow, row, outcome)
        else:
            row.next_attempt_at = now + timedelta(seconds=self.backoff.delay(row.attempts, self.rng))
            uow.webhook_deliveries.hold_back(row)  # the later rows of its Subscription wait behind it

    def _mark_subscription_error(self, uow: UnitOfWork, row: DeliveryRow, outcome: sender.Outcome) -> None:
        text = (f"Notification {row.transaction_id} ({row.method} {row.resource_type}/{row.resource_id}) was not "
                f"delivered after {row.attempts} attempts; last: {outcome.error}")
        for _ in range(_STATUS_RETRIES):  # a concurrent edit of the Subscription: read it again and re-apply
            try:
                with uow.savepoint():
                    subscriptions.set_status(uow, row.subscription_id, "error", text,
                                             timezone=self.store.timezone)
                return
            except FhirError:
                continue
        log.warning("could not set Subscription status error", extra={"subscription": row.subscription_id})
