"""`ActiveSubscriptions`: this process's copy of the active rest-hook Subscriptions, by the resource type they watch.

Without it every stored change searched the Subscriptions (issue 17: 11 % of a create, 14 searches per claim),
mostly to find none. The copy is keyed by the Subscription epoch token (`store/subscription_epoch.py`), which every
Subscription create, update and delete (and the worker's status changes) replaces in its own transaction. Each unit
of work reads the token once, one primary-key SELECT, at its first write (a SIMRS transaction of twenty entries: one
read, not twenty): when it differs from the copy's, the copy is loaded again in that unit of work before it is used.
A Subscription written in the unit of work itself makes its next write read the token again (`changed_in`). So a new
Subscription is honoured by every unit of work that starts after it commits, in any process, and a deleted or
stopped one is not; a write of a type no Subscription watches searches nothing.

The token is read before the Subscriptions are loaded, so a copy is never older than its token (at worst newer,
and then reloaded once more). `end` is judged at each use, as it depends on the time. Threads share the copy; it is
replaced whole, never changed in place.
"""

from __future__ import annotations

import weakref
from datetime import datetime

from fhirclaim.store.repository import StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork
from fhirclaim.webhooks.subscriptions import active_subscriptions, criteria_type, ended

_UNLOADED = object()


class ActiveSubscriptions:
    def __init__(self, *, timezone: str = "UTC"):
        self.timezone = timezone
        self._copy: tuple[object, dict[str, tuple[StoredResource, ...]]] = (_UNLOADED, {})
        # the token each open unit of work read, by its epoch (one object per unit of work, gone with it)
        self._read_in: weakref.WeakKeyDictionary[object, str | None] = weakref.WeakKeyDictionary()

    def watching(self, uow: UnitOfWork, resource_type: str, now: datetime) -> tuple[StoredResource, ...]:
        """Active rest-hook Subscriptions whose criteria name `resource_type` and whose `end` has not passed."""
        by_type = self._current(uow)
        return tuple(s for s in by_type.get(resource_type, ()) if not ended(s.content, now))

    def changed_in(self, uow: UnitOfWork) -> None:
        """A Subscription was written in `uow` (its epoch advanced): its next write reads the token again."""
        self._read_in.pop(uow.subscription_epoch, None)

    def _current(self, uow: UnitOfWork) -> dict[str, tuple[StoredResource, ...]]:
        epoch = uow.subscription_epoch
        token = self._read_in.get(epoch, _UNLOADED)
        if token is _UNLOADED:
            token = self._read_in[epoch] = epoch.current()
        loaded_under, by_type = self._copy
        if token != loaded_under:
            by_type = _by_type(active_subscriptions(uow, timezone=self.timezone))
            self._copy = (token, by_type)
        return by_type


def _by_type(found: list[StoredResource]) -> dict[str, tuple[StoredResource, ...]]:
    grouped: dict[str, list[StoredResource]] = {}
    for subscription in found:
        # `criteria` is compared whole here: a string search for "Claim" would also find "ClaimResponse?..."
        grouped.setdefault(criteria_type(subscription.content), []).append(subscription)
    return {resource_type: tuple(subs) for resource_type, subs in grouped.items()}
