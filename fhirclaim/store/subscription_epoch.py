"""A token that changes whenever a Subscription does: what each process's cache of active Subscriptions is keyed by.

One row (`id = 1`, absent until the first Subscription write). Every Subscription create, update or delete sets
a new random token in its own transaction, so the change shows exactly when the Subscription does (at commit), to
every process; a rolled-back write leaves the committed token as it was (a counter would hand the same number to
the next writer, and a cache loaded inside the rolled-back transaction would pass for current). A writer compares
the token with the one its cache was loaded under: one primary-key SELECT per write instead of a Subscription
search (schema: migration 0016).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from fhirclaim.store.db import insert_for
from fhirclaim.store.execution import execute_unflushed
from fhirclaim.store.models import Base

_ROW_ID = 1


class SubscriptionEpochRow(Base):
    __tablename__ = "webhook_subscription_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


_TOKEN = select(SubscriptionEpochRow.__table__.c.token).where(SubscriptionEpochRow.__table__.c.id == _ROW_ID)


class SubscriptionEpoch:
    """The token on one transaction's session."""

    def __init__(self, session: Session):
        self.session = session

    def current(self) -> str | None:
        """The token now (None: no Subscription was ever written). Built once, and it flushes nothing: `advance`
        writes the row at once, and nothing pending in the session can change it."""
        return execute_unflushed(self.session, _TOKEN).scalar_one_or_none()

    def advance(self) -> None:
        """A new token, in the caller's transaction: every cache loaded before it is stale once this commits."""
        token = uuid.uuid4().hex
        self.session.execute(insert_for(self.session)(SubscriptionEpochRow).values(id=_ROW_ID, token=token)
                             .on_conflict_do_update(index_elements=["id"], set_={"token": token}))
