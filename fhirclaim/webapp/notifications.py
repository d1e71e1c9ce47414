"""The webhook notifications about one claim, for the claim page's timeline: to which endpoint (its host only, never
the path or a secret), in which delivery state, after how many attempts, when.

Read from the webhook outbox (`webhook_delivery`, written by `fhirclaim.webhooks` in the transaction of each
change) for the hospital's own Subscriptions only: BPJS-K's Subscriptions and their endpoints are not the
hospital's to see, just as a facility client cannot read them over FHIR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fhirclaim.store.unit_of_work import UnitOfWork

LIMIT = 200  # the newest notifications shown on one claim page


@dataclass(frozen=True)
class Notification:
    subscription: str
    host: str | None  # None: the Subscription is gone (deleted since) or not the reader's
    resource: str  # "ClaimResponse/ex1-purifikasi/_history/1"
    method: str
    status: str  # pending | delivered | dead | cancelled
    attempts: int
    created_at: datetime  # naive UTC: when the change was notified
    delivered_at: datetime | None
    last_status_code: int | None


def claim_notifications(uow: UnitOfWork, tenant: str, resources: Iterable[tuple[str, str]],
                        endpoint_of: Callable[[str], str | None]) -> list[Notification]:
    """The notifications of `tenant`'s Subscriptions about any of `resources` ((type, id) pairs), oldest first;
    `endpoint_of(subscription_id)` is the Subscription's channel endpoint as the reader may see it."""
    rows = uow.webhook_deliveries.newest_about(tenant, dict.fromkeys(resources), LIMIT)
    hosts: dict[str, str | None] = {}
    found = []
    for row in reversed(rows):
        if row.subscription_id not in hosts:
            hosts[row.subscription_id] = _host(endpoint_of(row.subscription_id))
        found.append(Notification(row.subscription_id, hosts[row.subscription_id],
                                  f"{row.resource_type}/{row.resource_id}/_history/{row.version_id}", row.method,
                                  row.status, row.attempts, row.created_at, row.delivered_at, row.last_status_code))
    return found


def _host(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else None
