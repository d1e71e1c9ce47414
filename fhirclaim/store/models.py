"""SQLAlchemy 2.x tables of the facade's store.

- `resource`: the current version of every resource (deleted ones stay, flagged, so reads answer 410), its logical
  id unique within its partition (`store/scope.py`: a hospital's tenant, or the shared partition);
- `resource_version`: every version ever written (history, vread), with who wrote it;
- `idx_*`: the search index of current versions, one table per value kind, rewritten on every write.

The schema is created and changed only by the Alembic migrations in `migrations/`; keep them in step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NUMERIC_LIMIT = Decimal("999999999999999999.999999")  # the largest magnitude a Numeric(24, 6) column holds


def fit_numeric(value: Decimal | None) -> Decimal | None:
    """A decimal clamped to what a Numeric(24, 6) column holds: FHIR decimals are unbounded, PostgreSQL's columns are
    not (an index row or a worklist amount beyond them would fail the whole write; clamping keeps their order)."""
    if value is None or not value.is_finite():
        return None
    return max(-NUMERIC_LIMIT, min(NUMERIC_LIMIT, value))


class Base(DeclarativeBase):
    pass


class ResourceRow(Base):
    __tablename__ = "resource"
    __table_args__ = (
        UniqueConstraint("resource_type", "logical_id", "partition", name="uq_resource_type_id_partition"),
        Index("ix_resource_type_updated", "resource_type", "last_updated"),
        Index("ix_resource_tenant", "tenant"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partition: Mapped[str] = mapped_column(String(64))  # the tenant, or the shared partition (never NULL)
    resource_type: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[str] = mapped_column(Text)


class ResourceVersionRow(Base):
    __tablename__ = "resource_version"
    __table_args__ = (Index("ix_version_type_updated", "resource_type", "last_updated"),)

    partition: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    logical_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(8))  # POST | PUT | PATCH | DELETE
    author: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)


def _resource_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("resource.pk", ondelete="CASCADE"))


class TokenIndex(Base):
    __tablename__ = "idx_token"
    __table_args__ = (
        Index("ix_idx_token_resource_pk", "resource_pk"),
        Index("ix_token_lookup", "resource_type", "param", "code", "system"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code: Mapped[str] = mapped_column(String(255))


class StringIndex(Base):
    __tablename__ = "idx_string"
    __table_args__ = (
        Index("ix_idx_string_resource_pk", "resource_pk"),
        Index("ix_string_lookup", "resource_type", "param", "normalised"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    normalised: Mapped[str] = mapped_column(String(255))
    exact: Mapped[str] = mapped_column(String(255))


class ReferenceIndex(Base):
    __tablename__ = "idx_reference"
    __table_args__ = (
        Index("ix_idx_reference_resource_pk", "resource_pk"),
        Index("ix_reference_lookup", "resource_type", "param", "target_type", "target_id"),
        Index("ix_reference_target", "target_type", "target_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))


class DateIndex(Base):
    __tablename__ = "idx_date"
    __table_args__ = (
        Index("ix_idx_date_resource_pk", "resource_pk"),
        Index("ix_date_lookup", "resource_type", "param", "low", "high"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    low: Mapped[datetime] = mapped_column(DateTime)
    high: Mapped[datetime] = mapped_column(DateTime)


class NumberIndex(Base):
    __tablename__ = "idx_number"
    __table_args__ = (
        Index("ix_idx_number_resource_pk", "resource_pk"),
        Index("ix_number_lookup", "resource_type", "param", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(24, 6))


class QuantityIndex(Base):
    __tablename__ = "idx_quantity"
    __table_args__ = (
        Index("ix_idx_quantity_resource_pk", "resource_pk"),
        Index("ix_quantity_lookup", "resource_type", "param", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = _resource_fk()
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(24, 6))
    system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code: Mapped[str | None] = mapped_column(String(255), nullable=True)


INDEX_TABLES = {
    "token": TokenIndex,
    "string": StringIndex,
    "reference": ReferenceIndex,
    "date": DateIndex,
    "number": NumberIndex,
    "quantity": QuantityIndex,
}


class UserRow(Base):
    """A person of a hospital's claim unit who signs in to the web app (`/app/`); the password stored as a hash."""

    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    org: Mapped[str] = mapped_column(String(64))  # the hospital (tenant) whose claims the user sees
    role: Mapped[str] = mapped_column(String(16))  # coder | verifier | manager
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


# The worklist's indexes: each list order and filter of the web app reads one in order (the claim id breaks ties,
# in the same direction), the per-stage counts are covered, SEP prefix and MR number searches are index lookups.
WORKLIST_INDEXES = {
    "ix_worklist_updated": ("tenant", "updated_at", "claim_id"),
    "ix_worklist_stage": ("tenant", "stage", "updated_at", "claim_id"),
    "ix_worklist_attention": ("tenant", "attention", "updated_at", "claim_id"),
    "ix_worklist_counts": ("tenant", "stage", "attention"),
    "ix_worklist_sep": ("tenant", "sep", "claim_id"),
    "ix_worklist_mr": ("tenant", "mr_number"),
    "ix_worklist_patient": ("tenant", "patient_search", "claim_id"),
    "ix_worklist_start": ("tenant", "episode_start", "claim_id"),
    "ix_worklist_status": ("tenant", "status", "claim_id"),  # 0014
}
# A part of a patient's name (LIKE '%…%'): a trigram index on PostgreSQL (pg_trgm, 0014). On PostgreSQL only
# (0020): SQLite has no index for LIKE '%…%' and none of its worklist queries read this one (they start from
# the tenant's indexes), so there it only cost every line written (issue 17).
WORKLIST_NAME_INDEX = Index("ix_worklist_patient_trgm", "patient_search", postgresql_using="gin",
                            postgresql_ops={"patient_search": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


class WorklistRow(Base):
    """One line per Claim of the claim unit's worklist: what the web app lists, filters and counts without reading
    every Claim (kept by `fhirclaim.bpjs.worklist_projection.WorklistListener` inside each writing transaction)."""

    __tablename__ = "claim_worklist"
    __table_args__ = (*(Index(name, *columns) for name, columns in WORKLIST_INDEXES.items()), WORKLIST_NAME_INDEX)

    partition: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Claim's (store/scope.py)
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sep: Mapped[str | None] = mapped_column(String(64), nullable=True)
    patient_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    patient_search: Mapped[str | None] = mapped_column(String(255), nullable=True)  # lower-case, for search
    mr_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    episode_start: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    episode_end: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    care_type: Mapped[str | None] = mapped_column(String(16), nullable=True)  # inpatient | outpatient
    status: Mapped[str] = mapped_column(String(32))  # received | grouped | awaiting-special-cmg | signed | ...
    stage: Mapped[str] = mapped_column(String(16))  # attention | progress | done
    attention: Mapped[str | None] = mapped_column(String(32), nullable=True)  # why a person is needed
    next_action: Mapped[str] = mapped_column(String(32))
    tariff: Mapped[Decimal | None] = mapped_column(Numeric(24, 6), nullable=True)  # INA-CBG total
    tarif_rs: Mapped[Decimal | None] = mapped_column(Numeric(24, 6), nullable=True)  # the hospital's tariff
    causes: Mapped[str | None] = mapped_column(Text, nullable=True)  # precheck rules / pending causes, comma-separated
    created_at: Mapped[datetime] = mapped_column(DateTime)  # first seen
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # grouped by E-Klaim
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # BPJS-K's verification
    updated_at: Mapped[datetime] = mapped_column(DateTime)
