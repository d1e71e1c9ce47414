"""Engine, sessions and the few lookups every method shares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import bindparam, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.pool import StaticPool

from fhirclaim.eklaim.emulator.fields import CLAIM_FIELDS
from fhirclaim.eklaim.emulator.models import Base, Claim, ClaimEvent, Patient, Personnel


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; in-memory SQLite is shared by all threads (one connection)."""
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               poolclass=StaticPool if in_memory else None)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class EmulatorStore:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block ends normally, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


# built once; the claim's 5.10 coding comes in the same query (nearly every call reads it), not in a second
_LIVE_CLAIMS_BY_SEP = (select(Claim).where(Claim.nomor_sep == bindparam("sep"), Claim.deleted_at.is_(None))
                       .order_by(Claim.id).options(joinedload(Claim.coding)))


def live_claims_by_sep(session: Session, nomor_sep: str) -> list[Claim]:
    return list(session.scalars(_LIVE_CLAIMS_BY_SEP, {"sep": nomor_sep}))


def live_patient_by_rm(session: Session, nomor_rm: str) -> Patient | None:
    query = select(Patient).where(Patient.nomor_rm == nomor_rm, Patient.deleted_at.is_(None)).order_by(Patient.id)
    return session.scalars(query).first()


def coder_by_nik(session: Session, nik: str) -> Personnel | None:
    return session.scalars(select(Personnel).where(Personnel.nik == nik)).first()


def upsert_coder(session: Session, nik: str, name: str) -> Personnel:
    coder = coder_by_nik(session, nik)
    if coder is None:
        coder = Personnel(nik=nik, name=name)
        session.add(coder)
    else:
        coder.name = name
    return coder


def record_event(session: Session, claim: Claim, method: str, now: datetime, coder_nik: str = "") -> None:
    """Append the claim's state after `method` to its history (the claim's versions)."""
    snapshot = {name: getattr(claim, name) for name in CLAIM_FIELDS}
    snapshot["nomor_sep"] = claim.nomor_sep
    session.add(ClaimEvent(claim=claim, method=method, klaim_status_cd=claim.klaim_status_cd, coder_nik=coder_nik,
                           snapshot=json.dumps(snapshot, sort_keys=True), at=now))
