"""Admin functions over the outbox: list deliveries, list dead letters, replay one (HTTP is wired elsewhere).

They answer plain dicts (JSON-ready: ISO 8601 times, the envelope decoded) and never a secret: secrets are not in
the outbox at all, only in `webhook_secret`, which nothing here reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhirclaim.clock import Clock, naive_utc, utc_now
from fhirclaim.fhir import dates
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.outbox import DEAD, PENDING, AttemptRow, DeliveryRow
from fhirclaim.store.unit_of_work import Store
from fhirclaim.store.webhook_deliveries import WebhookDeliveries
from fhirclaim.webhooks import subscriptions

STATUSES = ("pending", "delivered", "dead", "cancelled")


def list_deliveries(store: Store, status: str | None = None, subscription: str | None = None, *,
                    limit: int = 100, offset: int = 0, include_body: bool = False) -> list[dict[str, Any]]:
    """Deliveries, newest first, optionally of one status and/or one Subscription (id or `Subscription/id`)."""
    if status is not None and status not in STATUSES:
        raise FhirError.of(400, "value", f"status must be one of {', '.join(STATUSES)}")
    subscription_id = subscription.removeprefix("Subscription/") if subscription is not None else None
    with store.unit_of_work(write=False) as uow:
        rows = uow.webhook_deliveries.page(status, subscription_id, limit=limit, offset=offset)
        attempts = _attempts(uow.webhook_deliveries, [r.id for r in rows])
        return [_describe(r, attempts.get(r.id, []), include_body) for r in rows]


def dead_letters(store: Store, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Deliveries that used up their attempts (and made their Subscription show `error`)."""
    return list_deliveries(store, DEAD, limit=limit, offset=offset)


def get_delivery(store: Store, delivery_id: int) -> dict[str, Any]:
    """One delivery with its attempts and the envelope it sends."""
    with store.unit_of_work(write=False) as uow:
        row = uow.webhook_deliveries.get(delivery_id)
        if row is None:
            raise FhirError.of(404, "not-found", f"There is no webhook delivery {delivery_id}")
        return _describe(row, _attempts(uow.webhook_deliveries, [row.id]).get(row.id, []), include_body=True)


def replay(store: Store, delivery_id: int, *, clock: Clock = utc_now) -> dict[str, Any]:
    """Send a finished delivery again from attempt 1, now; its Subscription goes back from `error` to `active`."""
    now = naive_utc(clock())
    with store.unit_of_work() as uow:
        row = uow.webhook_deliveries.get(delivery_id, for_update=True)
        if row is None:
            raise FhirError.of(404, "not-found", f"There is no webhook delivery {delivery_id}")
        if row.status == PENDING:
            raise FhirError.of(409, "conflict", f"Webhook delivery {delivery_id} is still pending")
        if subscriptions.find_subscription(uow, row.subscription_id, timezone=store.timezone) is None:
            raise FhirError.of(409, "conflict", f"Subscription/{row.subscription_id} no longer exists")
        row.status, row.attempts, row.replays = PENDING, 0, row.replays + 1
        row.next_attempt_at = now  # ahead of the later rows of its Subscription: the oldest pending goes first
        row.last_status_code = row.last_error = None
        current = subscriptions.find_subscription(uow, row.subscription_id, timezone=store.timezone)
        if current.content.get("status") == "error":
            subscriptions.set_status(uow, row.subscription_id, "active", None, timezone=store.timezone)
        return _describe(row, _attempts(uow.webhook_deliveries, [row.id]).get(row.id, []), include_body=False)


def _attempts(deliveries: WebhookDeliveries, delivery_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return {delivery_id: [_attempt(attempt) for attempt in attempts]
            for delivery_id, attempts in deliveries.attempts(delivery_ids).items()}


def _attempt(attempt: AttemptRow) -> dict[str, Any]:
    return {"at": _iso(attempt.attempted_at), "status_code": attempt.status_code, "error": attempt.error,
            "duration_ms": attempt.duration_ms}


def _describe(row: DeliveryRow, attempts: list[dict[str, Any]], include_body: bool) -> dict[str, Any]:
    described = {
        "id": row.id,
        "transaction_id": row.transaction_id,
        "subscription": f"Subscription/{row.subscription_id}",
        "tenant": row.tenant,
        "resource": f"{row.resource_type}/{row.resource_id}/_history/{row.version_id}",
        "method": row.method,
        "status": row.status,
        "attempts": row.attempts,
        "replays": row.replays,
        "created_at": _iso(row.created_at),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == PENDING else None,
        "delivered_at": _iso(row.delivered_at),
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "attempt_log": attempts,
    }
    if include_body:
        described["envelope"] = json.loads(row.body)
    return described


def _iso(moment: datetime | None) -> str | None:
    return dates.instant(moment) if moment is not None else None
