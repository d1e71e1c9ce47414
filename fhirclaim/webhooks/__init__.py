"""Webhooks: R4 rest-hook Subscriptions, the durable outbox and its delivery worker (see README.md here).

    interceptor  SubscriptionSecretInterceptor  validates Subscriptions, keeps their secret encrypted apart
    listener     WebhookListener                one outbox row per (matching Subscription, change), same transaction
    subscription_cache  ActiveSubscriptions     this process's copy of the active Subscriptions, by watched type
    delivery_worker  WebhookDeliveryWorker      in order per Subscription, one sender across processes; backoff,
                                                dead letters, Subscription status error
    deliveries   list_deliveries, dead_letters, get_delivery, replay   the admin's view of the outbox

`hooks` declares the interceptor and the listener; the composition root (runtime.py) places them among the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhirclaim.clock import Clock, utc_now
from fhirclaim.config import Settings
from fhirclaim.secrets import SecretBox
from fhirclaim.webhooks.deliveries import dead_letters, get_delivery, list_deliveries, replay
from fhirclaim.webhooks.delivery_worker import WebhookDeliveryWorker
from fhirclaim.webhooks.egress import EgressPolicy
from fhirclaim.webhooks.interceptor import SECRET_EXTENSION, SubscriptionSecretInterceptor
from fhirclaim.webhooks.listener import WebhookListener
from fhirclaim.webhooks.secret_store import SubscriptionSecrets
from fhirclaim.webhooks.signature import sign, verify
from fhirclaim.webhooks.subscriptions import SYSTEM_AUTHOR

__all__ = [
    "SECRET_EXTENSION", "SYSTEM_AUTHOR", "SubscriptionSecretInterceptor", "SubscriptionSecrets", "WebhookHooks",
    "WebhookListener", "WebhookDeliveryWorker", "dead_letters", "get_delivery", "hooks", "list_deliveries", "replay",
    "sign", "verify",
]


@dataclass(frozen=True)
class WebhookHooks:
    """The webhooks' part in every write, each placed by the composition root."""

    subscription_secrets: SubscriptionSecretInterceptor  # interceptor: Subscriptions checked, secret kept apart
    outbox: WebhookListener  # listener: one outbox row per matching Subscription, in the writing transaction


def hooks(settings: Settings, secrets: SecretBox, clock: Clock = utc_now) -> WebhookHooks:
    """The interceptor and the listener; `clock` (an aware-datetime callable) says when an outbox row is due and
    must be the delivery worker's."""
    interceptor = SubscriptionSecretInterceptor(SubscriptionSecrets(secrets), timezone=settings.timezone,
                                                egress=EgressPolicy.from_settings(settings))
    return WebhookHooks(interceptor, WebhookListener(timezone=settings.timezone, clock=clock))
