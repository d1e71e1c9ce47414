"""Reading and updating Subscription resources on behalf of the webhook machinery.

Both run with the system scope on the caller's unit of work: the listener must see every tenant's Subscriptions
(each is then evaluated under its own tenant), and the worker records `status: error` whoever owns the
Subscription. Status changes are written through the repository as author `system:webhooks`, a new version
like any other, so the subscriber sees in history when and why its Subscription stopped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhirclaim.fhir import dates
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.scope import ADMIN_TENANT, SYSTEM, Scope, tenant_scope
from fhirclaim.store.unit_of_work import UnitOfWork

SYSTEM_AUTHOR = "system:webhooks"
REST_HOOK = "rest-hook"


def active_subscriptions(uow: UnitOfWork, *, timezone: str) -> list[StoredResource]:
    """Every active rest-hook Subscription, whatever its type or `end` (`ActiveSubscriptions` sorts and filters)."""
    repository = uow.resources.viewing(SYSTEM, timezone_name=timezone)
    request = parse_search("Subscription", [("status", "active"), ("type", REST_HOOK)], timezone=timezone)
    return repository.search_all(request)


def scope_of(subscription: StoredResource) -> Scope:
    """The Subscription's own tenant scope: what its owner could read (a hospital its tenant, BPJS-K what was
    disclosed to it). No tenant (the system's) or admin's: sees all."""
    return SYSTEM if subscription.tenant == ADMIN_TENANT else tenant_scope(subscription.tenant)


def written_by_admin(subscription: StoredResource) -> bool:
    """Admin's (or the system's) Subscription: the only kind whose headers may carry credentials or a Host."""
    return subscription.tenant in (None, ADMIN_TENANT)


def find_subscription(uow: UnitOfWork, subscription_id: str, *, timezone: str) -> StoredResource | None:
    stored = uow.resources.viewing(SYSTEM, timezone_name=timezone).find("Subscription", subscription_id)
    return None if stored is None or stored.deleted else stored


def set_status(uow: UnitOfWork, subscription_id: str, status: str, error_text: str | None, *,
               timezone: str) -> StoredResource | None:
    """Write a new version with this status (and `error`, or without one); None if the Subscription is gone."""
    repository = uow.resources.viewing(SYSTEM, timezone_name=timezone)
    current = find_subscription(uow, subscription_id, timezone=timezone)
    if current is None:
        return None
    content: dict[str, Any] = {k: v for k, v in current.content.items() if k != "error"}
    content["status"] = status
    if error_text:
        content["error"] = error_text
    stored, _ = repository.update(content, if_match=current.version_id, author=SYSTEM_AUTHOR)
    uow.subscription_epoch.advance()  # past the FHIR service and its listener: every cache must reload
    return stored


def criteria_type(subscription: dict[str, Any]) -> str:
    return str(subscription.get("criteria", "")).split("?", 1)[0].strip()


def ended(subscription: dict[str, Any], now: datetime) -> bool:
    end = subscription.get("end")
    if not isinstance(end, str):
        return False
    try:
        _, high = dates.to_range(end)
    except ValueError:
        return False
    return high <= now
