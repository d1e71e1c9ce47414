"""Subscription signing secrets at rest, keyed by Subscription id, as the ciphertext webhooks/secret_store.py
makes (this table never sees a secret in clear)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fhirclaim.store.outbox import WebhookSecretRow


class WebhookSecretRepository:
    def __init__(self, session: Session):
        self.session = session

    def put(self, subscription_id: str, encrypted: str, now: datetime) -> None:
        row = self.session.get(WebhookSecretRow, subscription_id)
        if row is None:
            self.session.add(WebhookSecretRow(subscription_id=subscription_id, encrypted=encrypted, updated_at=now))
        else:
            row.encrypted, row.updated_at = encrypted, now

    def get(self, subscription_id: str) -> str | None:
        """The ciphertext, or None when the Subscription has no secret."""
        row = self.session.get(WebhookSecretRow, subscription_id)
        return row.encrypted if row is not None else None

    def exists(self, subscription_id: str) -> bool:
        return self.session.get(WebhookSecretRow, subscription_id) is not None
