"""Subscription secrets at rest: encrypted with the installation's SecretBox, keyed by Subscription id.

They live beside the resource, not in it, so no read, search, history or `_include` can return them; the
delivery worker is the only reader. Writes happen on the caller's session, so a secret set by a request that
then fails is rolled back with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fhirclaim.secrets import SecretBox
from fhirclaim.store.outbox import WebhookSecretRow


class SubscriptionSecrets:
    def __init__(self, box: SecretBox):
        self._box = box

    def __repr__(self) -> str:
        return "SubscriptionSecrets(<hidden>)"

    def put(self, session: Session, subscription_id: str, secret: str, now: datetime) -> None:
        row = session.get(WebhookSecretRow, subscription_id)
        if row is None:
            session.add(WebhookSecretRow(subscription_id=subscription_id, encrypted=self._box.encrypt(secret),
                                         updated_at=now))
        else:
            row.encrypted, row.updated_at = self._box.encrypt(secret), now

    def get(self, session: Session, subscription_id: str) -> str | None:
        row = session.get(WebhookSecretRow, subscription_id)
        return self._box.decrypt(row.encrypted) if row is not None else None

    def exists(self, session: Session, subscription_id: str) -> bool:
        return session.get(WebhookSecretRow, subscription_id) is not None
