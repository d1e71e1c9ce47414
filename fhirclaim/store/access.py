"""Who may call the server and on whose behalf: OAuth2 clients, their tokens, failed attempts, tenant settings,
and what hospitals disclosed to BPJS-K.

Client secrets and tokens are stored only as hashes; a tenant's E-Klaim key only encrypted (`SecretBox`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fhirclaim.store.models import Base


class ClientRow(Base):
    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # facility | eklaim | bpjs | admin
    org: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the tenant of facility/eklaim clients
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class TokenRow(Base):
    __tablename__ = "oauth_token"
    __table_args__ = (Index("ix_oauth_token_client", "client_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the bearer token
    client_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class FailedLoginRow(Base):
    """Failed token requests per key (client id or remote address), for slowing repeated failures down."""

    __tablename__ = "oauth_failure"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    eklaim_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    eklaim_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    kode_tarif: Mapped[str | None] = mapped_column(String(8), nullable=True)
    hospital_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payor_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    payor_cd: Mapped[str | None] = mapped_column(String(16), nullable=True)
    eklaim_protocol: Mapped[str | None] = mapped_column(String(8), nullable=True)  # 5.10 | 5.1; None = server's
    precheck_errors: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of precheck rule ids
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DisclosureRow(Base):
    """A version of a resource a hospital disclosed to BPJS-K: it is in a published claim Bundle (or answers one).
    BPJS-K reads a resource when any of its versions was disclosed, and in its history only those versions."""

    __tablename__ = "disclosure"

    partition: Mapped[str] = mapped_column(String(64), primary_key=True)  # the resource's (store/scope.py)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disclosed_at: Mapped[datetime] = mapped_column(DateTime)


class SecurityEventRow(Base):
    """Requests refused before anyone was identified (no or a bad token, a failed token request), counted per
    minute, source address and kind: a flood of them is a few rows, not one stored resource each."""

    __tablename__ = "security_event"

    minute: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # UTC, seconds cut off
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # the caller's address, or "other"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # unauthenticated | token-refused | ...
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    sample: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the last one's description
