"""Who sends a Subscription's notifications: one sender lease per Subscription, over the head of its outbox.

A Subscription's notifications go out one at a time, in the order they were written (outbox id): only its *head*,
the oldest pending row, may be sent, and only by the worker that holds the Subscription's row in `webhook_sender`.
While the head backs off after a failure, the rows behind it wait (`hold_back` moves their `next_attempt_at` to
the head's); other Subscriptions go on.

Taking the lease is the store's one lease mechanism (`store/leases.py`, shared with the claim job queue), and it
is what keeps two workers (threads or processes) off one Subscription: insert the lease row if it is new (ON
CONFLICT DO NOTHING), then a conditional UPDATE … RETURNING that succeeds only while the lease is free or has run
out. PostgreSQL re-checks that condition under the row lock once a concurrent taker commits, so exactly one of them
wins; SQLite runs it under its single writer lock. The head is read after the lease is held, in a statement of its
own, so it shows what the previous holder recorded. A holder that dies keeps the lease until it runs out; then the
head is sent again (at least once, same `X-Webhook-Id`).

A claiming transaction holds at most one lease row (a failed conditional UPDATE locks nothing), so claimers
cannot deadlock on each other. The statements are built once (a claim runs for every delivery). Times are naive
UTC, as everywhere in the store (schema: migration 0016).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Row, String, bindparam, exists, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fhirclaim.store.leases import Lease
from fhirclaim.store.models import Base
from fhirclaim.store.outbox import PENDING, DeliveryRow


class SenderLeaseRow(Base):
    __tablename__ = "webhook_sender"

    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    leased_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


_LEASES = SenderLeaseRow.__table__
_LEASE = Lease(_LEASES.c.subscription_id, _LEASES.c.leased_by, _LEASES.c.lease_until, insert_missing=True)
_ROWS = DeliveryRow.__table__
_EARLIER = _ROWS.alias("earlier")

# the Subscription whose head is due, whose lease is free, and which has waited longest
_FIRST_DUE_HEAD = (
    select(_ROWS.c.subscription_id)
    .where(_ROWS.c.status == PENDING, _ROWS.c.next_attempt_at <= bindparam("now"),
           ~exists().where(_LEASES.c.subscription_id == _ROWS.c.subscription_id, _LEASE.held(bindparam("now"))),
           ~exists().where(_EARLIER.c.subscription_id == _ROWS.c.subscription_id, _EARLIER.c.status == PENDING,
                           _EARLIER.c.id < _ROWS.c.id))
    .order_by(_ROWS.c.next_attempt_at, _ROWS.c.id)
    .limit(1))
_HEAD = (
    select(_ROWS.c.id, _ROWS.c.transaction_id, _ROWS.c.subscription_id, _ROWS.c.resource_id, _ROWS.c.body,
           _ROWS.c.next_attempt_at)
    .where(_ROWS.c.subscription_id == bindparam("subscription"), _ROWS.c.status == PENDING)
    .order_by(_ROWS.c.id)
    .limit(1))
_HOLD_BACK = (
    update(_ROWS)
    .where(_ROWS.c.subscription_id == bindparam("subscription"), _ROWS.c.status == PENDING,
           _ROWS.c.id > bindparam("head"), _ROWS.c.next_attempt_at < bindparam("until"))
    .values(next_attempt_at=bindparam("until")))


class SenderLeases:
    def __init__(self, session: Session):
        self.session = session

    def claim_next(self, worker: str, now: datetime, until: datetime) -> Row | None:
        """The due head of a Subscription no one else is sending (id, transaction_id, subscription_id,
        resource_id, body, next_attempt_at), its lease now `worker`'s until `until`; None when there is none (or
        a race was lost: the next round tries again)."""
        # a lost race (another worker took the Subscription first) shows its lease in the next candidate query
        taken = _LEASE.claim(self.session, _FIRST_DUE_HEAD, worker, now, until, params={"now": now})
        if taken is None:
            return None
        row = self.head(taken.subscription_id)
        if row is not None and row.next_attempt_at <= now:
            return row
        self.release(taken.subscription_id, worker)  # its previous holder rescheduled it meanwhile
        return None  # ends the transaction before another lease row is locked

    def head(self, subscription_id: str) -> Row | None:
        """The Subscription's oldest pending row: the only one that may be sent."""
        return self.session.execute(_HEAD, {"subscription": subscription_id}).first()

    def hold_back(self, head: DeliveryRow) -> None:
        """The head backs off until its `next_attempt_at`: so do the rows behind it, so that a claim does not scan
        through a blocked Subscription's backlog looking for heads (rows written later are held at its next
        failure)."""
        self.session.execute(_HOLD_BACK, {"subscription": head.subscription_id, "head": head.id,
                                          "until": head.next_attempt_at})

    def release(self, subscription_id: str, worker: str) -> None:
        """Give the lease back (a no-op when it ran out and another worker holds it now)."""
        _LEASE.release(self.session, subscription_id, worker)
