"""Subscription secrets at rest: encrypted with the installation's SecretBox, keyed by Subscription id.

They live beside the resource, not in it, so no read, search, history or `_include` can return them; the
delivery worker is the only reader. Writes happen in the caller's unit of work, so a secret set by a request
that then fails is rolled back with it. The table (`store/webhook_secrets.py`) holds only the ciphertext.
"""

from __future__ import annotations

from datetime import datetime

from fhirclaim.secrets import SecretBox
from fhirclaim.store.unit_of_work import UnitOfWork


class SubscriptionSecrets:
    def __init__(self, box: SecretBox):
        self._box = box

    def __repr__(self) -> str:
        return "SubscriptionSecrets(<hidden>)"

    def put(self, uow: UnitOfWork, subscription_id: str, secret: str, now: datetime) -> None:
        uow.webhook_secrets.put(subscription_id, self._box.encrypt(secret), now)

    def get(self, uow: UnitOfWork, subscription_id: str) -> str | None:
        encrypted = uow.webhook_secrets.get(subscription_id)
        return self._box.decrypt(encrypted) if encrypted is not None else None

    def exists(self, uow: UnitOfWork, subscription_id: str) -> bool:
        return uow.webhook_secrets.exists(subscription_id)
