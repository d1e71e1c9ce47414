"""The security log's table (auth/security_log.py decides what is counted): counters per minute, source and kind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fhirclaim.store.access import SecurityEventRow
from fhirclaim.store.db import insert_for


class SecurityEventRepository:
    def __init__(self, session: Session):
        self.session = session

    def drop_before(self, minute: datetime) -> None:
        self.session.execute(delete(SecurityEventRow).where(SecurityEventRow.minute < minute))

    def exists(self, minute: datetime, source: str, kind: str) -> bool:
        return self.session.get(SecurityEventRow, (minute, source, kind)) is not None

    def sources_in(self, minute: datetime) -> int:
        return self.session.execute(select(func.count()).select_from(SecurityEventRow)
                                    .where(SecurityEventRow.minute == minute)).scalar_one()

    def count(self, minute: datetime, source: str, kind: str, now: datetime, sample: str, *, by: int = 1) -> None:
        """`by` more events in the (minute, source, kind) counter; the newest description is kept as its sample."""
        statement = insert_for(self.session)(SecurityEventRow).values(
            minute=minute, source=source, kind=kind, count=by, last_at=now, sample=sample)
        self.session.execute(statement.on_conflict_do_update(
            index_elements=["minute", "source", "kind"],
            set_={"count": SecurityEventRow.count + by, "last_at": now, "sample": sample}))

    def newest(self, limit: int) -> list[SecurityEventRow]:
        return list(self.session.execute(select(SecurityEventRow).order_by(
            SecurityEventRow.minute.desc(), SecurityEventRow.count.desc()).limit(limit)).scalars())
