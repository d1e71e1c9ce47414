"""A token that changes whenever a Subscription does: what each process's cache of active Subscriptions is keyed by.

One row (`id = 1`, absent until the first Subscription write). Every Subscription create, update or delete sets
a new random token in its own transaction, so the change shows exactly when the Subscription does (at commit), to
every process; a rolled-back write leaves the committed token as it was (a counter would hand the same number to
the next writer, and a cache loaded inside the rolled-back transaction would pass for current). A unit of work
compares the token with the one its cache was loaded under: one primary-key SELECT per unit of work instead of a
Subscription search per write (schema: migration 0016).
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


_UNREAD = object()


class SubscriptionEpoch:
    """The token on one unit of work's session (one object per unit of work: `UnitOfWork.subscription_epoch`)."""

    def __init__(self, session: Session):
        self.session = session
        self._token: object = _UNREAD

    def current(self) -> str | None:
        """The token (None: no Subscription was ever written), read once per unit of work (a SIMRS transaction of
        twenty entries: one read, not twenty) and again after `advance`. So a Subscription another unit of work
        writes counts from the next unit of work. The statement flushes nothing: `advance` writes the row at once,
        and nothing pending in the session can change it."""
        if self._token is _UNREAD:
            self._token = execute_unflushed(self.session, _TOKEN).scalar_one_or_none()
        return self._token

    def advance(self) -> None:
        """A new token, in the caller's transaction: every cache loaded before it is stale once this commits, and
        this unit of work reads it again at its next `current`."""
        token = uuid.uuid4().hex
        self.session.execute(insert_for(self.session)(SubscriptionEpochRow).values(id=_ROW_ID, token=token)
                             .on_conflict_do_update(index_elements=["id"], set_={"token": token}))
        self._token = _UNREAD
