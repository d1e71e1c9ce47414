"""Webhooks: R4 rest-hook Subscriptions, the durable outbox and its delivery worker (see README.md here).

    interceptor  SubscriptionSecretInterceptor  validates Subscriptions, keeps their secret encrypted apart
    listener     WebhookListener                one outbox row per (matching Subscription, change), same transaction
    subscription_cache  ActiveSubscriptions     this process's copy of the active Subscriptions, by watched type
    worker       WebhookDeliveryWorker          in order per Subscription, one sender across processes; backoff,
                                                dead letters, Subscription status error
    admin        list_deliveries, dead_letters, get_delivery, replay
"""

from __future__ import annotations

from fhirclaim.webhooks.deliveries import dead_letters, get_delivery, list_deliveries, replay
from fhirclaim.webhooks.delivery_worker import WebhookDeliveryWorker
from fhirclaim.webhooks.egress import EgressPolicy
from fhirclaim.webhooks.interceptor import SECRET_EXTENSION, SubscriptionSecretInterceptor
from fhirclaim.webhooks.listener import WebhookListener
from fhirclaim.webhooks.secret_store import SubscriptionSecrets
from fhirclaim.webhooks.signature import sign, verify
from fhirclaim.webhooks.subscriptions import SYSTEM_AUTHOR

__all__ = [
    "SECRET_EXTENSION", "SYSTEM_AUTHOR", "SubscriptionSecretInterceptor", "SubscriptionSecrets", "WebhookListener",
    "WebhookDeliveryWorker", "dead_letters", "get_delivery", "install", "list_deliveries", "replay", "sign",
    "verify",
]


def install(runtime, *, clock=None) -> WebhookDeliveryWorker:
    """Put the interceptor and the listener on a Runtime (exactly one of each, replacing earlier ones) and return
    a worker for it, not started.

    `clock` (tests): an aware-datetime callable shared by the listener (when rows are due) and the worker."""
    timezone = runtime.settings.timezone
    timing = {"clock": clock} if clock is not None else {}
    runtime.interceptors[:] = [i for i in runtime.interceptors if not isinstance(i, SubscriptionSecretInterceptor)]
    runtime.interceptors.append(SubscriptionSecretInterceptor(SubscriptionSecrets(runtime.secrets),
                                                              timezone=timezone,
                                                              egress=EgressPolicy.from_settings(runtime.settings)))
    runtime.listeners[:] = [listener for listener in runtime.listeners if not isinstance(listener, WebhookListener)]
    runtime.listeners.append(WebhookListener(timezone=timezone, **timing))
    return WebhookDeliveryWorker.for_runtime(runtime, **timing)
