"""`WebhookDeliveries`: the webhook outbox's rows as the webhook machinery uses them, in one transaction.

The listener adds a row per notification; the delivery worker claims a Subscription's head under its sender lease
(`webhook_senders.py`), then records the attempt, gives the lease back and, when the head backs off, holds the
rows behind it; admins list, read and replay rows. What a row's state means, and the retry schedule, stay with
the webhook package (`webhooks/delivery_worker.py`, `webhooks/deliveries.py`); the tables are in `outbox.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.orm import Session

from fhirclaim.store import commit_notices
from fhirclaim.store.outbox import AttemptRow, DeliveryRow
from fhirclaim.store.webhook_senders import SenderLeases


class WebhookDeliveries:
    def __init__(self, session: Session):
        self.session = session
        self.senders = SenderLeases(session)

    # --- the listener ------------------------------------------------------------------------------------------

    def add(self, row: DeliveryRow) -> None:
        """A new notification, committed with the change it tells of."""
        self.session.add(row)
        commit_notices.notice(self.session, commit_notices.WEBHOOK_QUEUED)

    # --- the delivery worker -----------------------------------------------------------------------------------

    def claim_head(self, worker: str, now: datetime, until: datetime) -> Row | None:
        """The due head of a Subscription no one else is sending, its sender lease now `worker`'s until `until`
        (`SenderLeases.claim_next`)."""
        return self.senders.claim_next(worker, now, until)

    def release_sender(self, subscription_id: str, worker: str) -> None:
        """`worker` is done with the Subscription's head: the next row may go now."""
        self.senders.release(subscription_id, worker)

    def hold_back(self, head: DeliveryRow) -> None:
        """The rows behind a head that backs off wait for it (`SenderLeases.hold_back`)."""
        self.senders.hold_back(head)

    def add_attempt(self, row: DeliveryRow, now: datetime, status_code: int | None, error: str | None,
                    duration_ms: int) -> None:
        self.session.add(AttemptRow(delivery_id=row.id, attempted_at=now, status_code=status_code, error=error,
                                    duration_ms=duration_ms))

    # --- reading and replaying ---------------------------------------------------------------------------------

    def get(self, delivery_id: int, *, for_update: bool = False) -> DeliveryRow | None:
        """One row; `for_update` locks it (PostgreSQL) until the transaction ends."""
        return self.session.get(DeliveryRow, delivery_id, with_for_update=for_update or None)

    def page(self, status: str | None, subscription_id: str | None, *, limit: int, offset: int) -> list[DeliveryRow]:
        """Rows newest first, optionally of one status and/or one Subscription."""
        query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(DeliveryRow.status == status)
        if subscription_id is not None:
            query = query.where(DeliveryRow.subscription_id == subscription_id)
        return list(self.session.scalars(query))

    def attempts(self, delivery_ids: list[int]) -> dict[int, list[AttemptRow]]:
        """Each row's attempts, oldest first."""
        found: dict[int, list[AttemptRow]] = {}
        if not delivery_ids:
            return found
        rows = self.session.scalars(select(AttemptRow).where(AttemptRow.delivery_id.in_(delivery_ids))
                                    .order_by(AttemptRow.id))
        for attempt in rows:
            found.setdefault(attempt.delivery_id, []).append(attempt)
        return found

    def newest_about(self, tenant: str, resources: Iterable[tuple[str, str]], limit: int) -> list[DeliveryRow]:
        """The `limit` newest deliveries of `tenant`'s Subscriptions about any of `resources` ((type, id) pairs),
        newest first (the claim page's timeline; webapp/notifications.py decides what a reader is shown)."""
        pairs = list(resources)
        if not pairs:
            return []
        about = or_(*(and_(DeliveryRow.resource_type == kind, DeliveryRow.resource_id == rid) for kind, rid in pairs))
        return list(self.session.scalars(select(DeliveryRow).where(DeliveryRow.tenant == tenant, about)
                                         .order_by(DeliveryRow.id.desc()).limit(limit)).all())
