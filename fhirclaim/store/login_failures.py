"""Failed logins per key (auth/throttle.py decides the keys and the waits): one row per key, reserved atomically.

`reserve` is one write transaction's worth of SQL: insert the key if new, then a conditional UPDATE … RETURNING
that only succeeds while the key is not blocked (PostgreSQL re-checks it under the row lock, SQLite runs it under
its single writer lock), so parallel guesses cannot slip past a read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, update
from sqlalchemy.orm import Session

from fhirclaim.store.access import FailedLoginRow
from fhirclaim.store.db import insert_for

_ROW = FailedLoginRow.__table__.c


class LoginFailureRepository:
    def __init__(self, session: Session):
        self.session = session

    def reserve(self, key: str, now: datetime, *, forget_after: timedelta,
                wait_after: Callable[[int], timedelta | None]) -> datetime | None:
        """Count one evaluation for `key`: None when it may go ahead, else the moment the key's block ends."""
        self.session.execute(insert_for(self.session)(FailedLoginRow)
                             .values(key=key, failures=0, last_failure_at=now).on_conflict_do_nothing())
        free = or_(_ROW.blocked_until.is_(None), _ROW.blocked_until <= now)
        reserved = self.session.execute(
            update(FailedLoginRow.__table__).where(_ROW.key == key, free)
            .values(failures=case((_ROW.last_failure_at < now - forget_after, 1), else_=_ROW.failures + 1),
                    last_failure_at=now)
            .returning(_ROW.failures)).scalar_one_or_none()
        if reserved is None:
            return self.session.get(FailedLoginRow, key).blocked_until
        wait = wait_after(reserved)
        if wait is not None:
            self.session.execute(update(FailedLoginRow.__table__).where(_ROW.key == key)
                                 .values(blocked_until=now + wait))
        return None

    def clear(self, key: str, now: datetime, *, forget_after: timedelta) -> None:
        """Forget `key`, and every other key quiet for `forget_after` and not blocked."""
        self.session.execute(delete(FailedLoginRow.__table__).where(or_(
            _ROW.key == key,
            and_(_ROW.last_failure_at < now - forget_after,
                 or_(_ROW.blocked_until.is_(None), _ROW.blocked_until <= now)))))
