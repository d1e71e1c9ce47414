"""SQLAlchemy tables of the webhook outbox (schema: migration 0002; keep them in step).

- `webhook_secret`: each Subscription's signing secret, encrypted with the installation's SecretBox, keyed by
  the Subscription id (the secret is never part of the stored resource, so never in reads or history);
- `webhook_delivery`: one row per (subscription, change), written in the same transaction as the change: the
  exact body bytes to POST, the delivery state (pending | delivered | dead | cancelled) and the retry schedule;
  who may send a Subscription's rows, and when, is `webhook_senders.py`'s per-Subscription lease (0016);
- `webhook_attempt`: every attempt's outcome (HTTP status or transport error), for inspection and replay.

Times are naive UTC, as in the resource tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fhirclaim.store.models import Base

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"


class WebhookSecretRow(Base):
    __tablename__ = "webhook_secret"

    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    encrypted: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DeliveryRow(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "status"),
        Index("ix_webhook_delivery_resource", "resource_id", "resource_type"),  # a claim's notifications (0014)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the Subscription's tenant
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(64))  # the envelope's meta.method
    body: Mapped[bytes] = mapped_column(LargeBinary)  # signed and sent byte for byte
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)  # in the current round (a replay starts a new round)
    replays: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AttemptRow(Base):
    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
