"""The webhook notifications about given resources, read from the outbox (`webhook_delivery`) for the claim page's
timeline (webapp/notifications.py decides what a reader is shown of them)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from fhirclaim.store.outbox import DeliveryRow


class ResourceNotifications:
    def __init__(self, session: Session):
        self.session = session

    def newest(self, tenant: str, resources: Iterable[tuple[str, str]], limit: int) -> list[DeliveryRow]:
        """The `limit` newest deliveries of `tenant`'s Subscriptions about any of `resources` ((type, id) pairs),
        newest first."""
        pairs = list(resources)
        if not pairs:
            return []
        about = or_(*(and_(DeliveryRow.resource_type == kind, DeliveryRow.resource_id == rid) for kind, rid in pairs))
        return list(self.session.scalars(select(DeliveryRow).where(DeliveryRow.tenant == tenant, about)
                                         .order_by(DeliveryRow.id.desc()).limit(limit)).all())
