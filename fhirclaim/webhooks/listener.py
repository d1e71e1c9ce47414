"""`WebhookListener`: turns each stored change into outbox rows, inside the writing transaction.

For a change it takes the active rest-hook Subscriptions on that resource type (from `ActiveSubscriptions`, this
process's copy, checked against the Subscription epoch on every write) and asks, for each, whether the
changed resource meets the criteria: the criteria run as a search plus `_id=<changed id>`, in the same transaction
(the change is visible, uncommitted), under the Subscription's OWN tenant scope, so a subscriber is told only
of what it could have read itself. Each match gets one `webhook_delivery` row with the envelope bytes; as the
row commits with the change, a change is never stored without its notifications, nor the reverse.

Not notified: deletions (there is no resource to send, and a deleted resource matches no search; receivers
treat notifications as triggers and re-read), changes to Subscriptions, and the machinery's own writes. A change
to a Subscription (any interaction, by anyone) instead replaces the epoch token in its transaction, so every
process's copy is reloaded once it commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fhirclaim.clock import Clock, naive_utc, utc_now
from fhirclaim.fhir import dates
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.outbox import PENDING, DeliveryRow
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.scope import Scope
from fhirclaim.store.unit_of_work import UnitOfWork
from fhirclaim.webhooks.criteria import UNWATCHABLE, parse_criteria
from fhirclaim.webhooks.envelope import envelope_body, method_for
from fhirclaim.webhooks.subscription_cache import ActiveSubscriptions
from fhirclaim.webhooks.subscriptions import SYSTEM_AUTHOR, scope_of


class WebhookListener:
    def __init__(self, *, timezone: str = "UTC", clock: Clock = utc_now):
        self.timezone = timezone
        self.clock = clock  # the worker's clock: a row is due from the moment it is written
        self.subscriptions = ActiveSubscriptions(timezone=timezone)

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        changed = change.after
        if changed.resource_type == "Subscription":
            uow.subscription_epoch.advance()  # every process's copy of the active ones is stale at commit
            return
        if (change.interaction == "delete" or changed.deleted or changed.resource_type in UNWATCHABLE
                or change.author == SYSTEM_AUTHOR):
            return
        now = naive_utc(self.clock())
        verdicts: dict[tuple[str, Scope], bool] = {}  # Subscriptions with the same criteria and scope: one search
        for subscription in self.subscriptions.watching(uow, changed.resource_type, now):
            scope = scope_of(subscription)
            if not scope.disclosed_only and not scope.can_see(changed.tenant):  # another tenant's: cannot match
                continue
            key = (str(subscription.content.get("criteria")), scope)
            if key not in verdicts:
                verdicts[key] = self._matches(key[0], scope, changed, uow)
            if verdicts[key]:
                uow.webhook_deliveries.add(_delivery(subscription, changed, now))

    def _matches(self, criteria_text: str, scope: Scope, changed: StoredResource, uow: UnitOfWork) -> bool:
        criteria, _ = parse_criteria(criteria_text, self.timezone)
        if criteria is None:  # stored before a parameter was withdrawn: it matches nothing rather than failing writes
            return False
        # the changed version in its partition: another hospital's resource with the same id, or (for BPJS-K) an
        # undisclosed version of a disclosed resource, must not match
        repository = uow.resources.viewing(scope.of_change(changed.tenant), timezone_name=self.timezone)
        return bool(repository.search_all(criteria.search_for(changed.id, self.timezone), limit=1))


def _delivery(subscription: StoredResource, changed: StoredResource, now: datetime) -> DeliveryRow:
    transaction_id = str(uuid.uuid4())
    method = method_for(changed.content)
    timestamp = changed.content.get("meta", {}).get("lastUpdated") or dates.instant(changed.last_updated)
    return DeliveryRow(
        transaction_id=transaction_id, subscription_id=subscription.id, tenant=subscription.tenant,
        resource_type=changed.resource_type, resource_id=changed.id, version_id=changed.version_id, method=method,
        body=envelope_body(changed.content, method, transaction_id, timestamp), status=PENDING, attempts=0,
        replays=0, created_at=now, next_attempt_at=now)
