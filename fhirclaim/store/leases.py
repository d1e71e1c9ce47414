"""Leases: how a worker (a thread or a process) takes a row for itself until a time, written once for both leased
queues — the claim job queue (`jobs.py`: the lease is on the job's own row) and the webhook senders
(`webhook_senders.py`: one lease row per Subscription, over the head of its outbox).

A lease is two columns of a row: who holds it, and until when. It is free when no one holds it or its time ran
out (`until <= now`).

- `claim` takes the first due candidate whose lease is free: the caller's query names the candidates' keys, in
  its order. With `skip_locked`, PostgreSQL locks the candidate it returns `FOR UPDATE SKIP LOCKED`, so concurrent
  claimers pass over a row another one is taking instead of waiting for it, and the candidate query is the
  subquery of the taking UPDATE: one statement (issue 17). Otherwise (SQLite, where the write transaction, BEGIN
  IMMEDIATE, serialises claimers; or a lease on rows other than the candidates') the candidate is read, then taken,
  and a race lost to another claimer tries the next candidate, a few times.
- `take` is a conditional UPDATE … RETURNING that succeeds only on a free lease: PostgreSQL re-checks the condition
  under the row lock once a concurrent taker commits, so exactly one of them wins; SQLite runs it under its single
  writer lock. A lease whose row exists only once needed (`insert_missing`) is first inserted free (ON CONFLICT DO
  NOTHING).
- `renew` and `release` change the row only while `worker` holds it, so a worker whose lease ran out and was taken
  over changes nothing (and learns so from the answer).

The statements are built once per lease and per set of columns set with it (a claim runs for every job and every
delivery): the values are bound parameters, never a new statement, and they run as prebuilt statements
(`execution.execute`), so a job's claim and release need no ORM session (issue 17). Times are naive UTC, as
everywhere in the store.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, cached_property, lru_cache
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Select, Table, bindparam, or_, update
from sqlalchemy.orm import Session

from fhirclaim.store.db import insert_for
from fhirclaim.store.execution import execute

_RACES = 8  # candidates tried per claim when other workers take them first


class Lease:
    """The lease held in `holder` and `until` of the row that `key` names."""

    def __init__(self, key: Column, holder: Column, until: Column, *, insert_missing: bool = False):
        self.key, self.holder, self.until = key, holder, until
        self.insert_missing = insert_missing

    @property
    def table(self) -> Table:
        return self.key.table

    def held(self, now: Any) -> ColumnElement[bool]:
        """SQL: someone holds the lease at `now` (a datetime or a bindparam)."""
        return self.until > now

    def free(self, now: Any) -> ColumnElement[bool]:
        """SQL: no one holds the lease at `now`: never taken, given back, or run out."""
        return or_(self.until.is_(None), self.until <= now)

    def claim(self, session: Session, candidates: Select, worker: str, now: datetime, until: datetime, *,
              params: dict[str, Any] | None = None, skip_locked: bool = False, **values: Any) -> Row | None:
        """The row of the first candidate whose lease `worker` took until `until`, with `values` set on it; None when
        no candidate is due (or every race was lost: the next round tries again). `candidates` selects the key of
        the best due candidate whose lease is free (its `params` bound), so a lost race shows in the next try."""
        if skip_locked and session.get_bind().dialect.name == "postgresql" and not self.insert_missing:
            # a candidate another claimer took since the statement's snapshot is re-checked under its lock and passed
            # over for the next one (the plan locks below its LIMIT: Limit → LockRows), not answered as None
            return execute(session, self._setting(self._taking_first(candidates), values), {
                **(params or {}), "taker": worker, "taken_at": now, "held_until": until, **_bound(values)}).first()
        for _ in range(_RACES):
            key = execute(session, candidates, params or {}).scalar()
            if key is None:
                return None
            taken = self.take(session, key, worker, now, until, **values)
            if taken is not None:
                return taken
        return None

    def take(self, session: Session, key: Any, worker: str, now: datetime, until: datetime,
             **values: Any) -> Row | None:
        """Make `worker` the holder until `until` (and set `values`), unless another one holds it at `now`; the row
        as changed, or None."""
        if self.insert_missing:
            execute(session, _insert_free(self.key, insert_for(session)), {"lease_key": key})
        return execute(session, self._setting(self._take, values), {
            "lease_key": key, "taker": worker, "taken_at": now, "held_until": until, **_bound(values)}).first()

    def renew(self, session: Session, key: Any, worker: str, until: datetime, **values: Any) -> bool:
        """Extend `worker`'s lease to `until` (and set `values`); False when it no longer holds it."""
        return execute(session, self._setting(self._renew, values), {
            "lease_key": key, "taker": worker, "held_until": until, **_bound(values)}).rowcount == 1

    def release(self, session: Session, key: Any, worker: str, **values: Any) -> bool:
        """Give the lease back (and set `values`); False, changing nothing, when `worker` no longer holds it."""
        return execute(session, self._setting(self._release, values),
                       {"lease_key": key, "taker": worker, **_bound(values)}).rowcount == 1

    # --- the statements ------------------------------------------------------------------------------------

    def _setting(self, statement, values: dict[str, Any]):
        """`statement` also setting the columns named in `values`, each from its bound parameter (`_bound`)."""
        return _also_setting(statement, tuple(values)) if values else statement

    @cached_property
    def _take(self):
        return (update(self.table)
                .where(self.key == bindparam("lease_key"), self.free(bindparam("taken_at")))
                .values({self.holder: bindparam("taker"), self.until: bindparam("held_until")})
                .returning(*self.table.c))

    @lru_cache(maxsize=8)  # noqa: B019  (a few candidate queries per lease, and leases live as long as the module)
    def _taking_first(self, candidates: Select):
        """`_take` of the key `candidates` selects, locked FOR UPDATE SKIP LOCKED (PostgreSQL), in one statement."""
        locked = candidates.with_for_update(skip_locked=True, of=self.table).scalar_subquery()
        return (update(self.table)
                .where(self.key == locked, self.free(bindparam("taken_at")))
                .values({self.holder: bindparam("taker"), self.until: bindparam("held_until")})
                .returning(*self.table.c))

    @cached_property
    def _renew(self):
        return (update(self.table)
                .where(self.key == bindparam("lease_key"), self.holder == bindparam("taker"))
                .values({self.until: bindparam("held_until")}))

    @cached_property
    def _release(self):
        return (update(self.table)
                .where(self.key == bindparam("lease_key"), self.holder == bindparam("taker"))
                .values({self.holder: None, self.until: None}))



def _bound(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of the values `_also_setting` sets (a column's own name is reserved in a SET clause)."""
    return {f"set_{name}": value for name, value in values.items()}


@lru_cache(maxsize=64)
def _also_setting(statement, columns: tuple[str, ...]):
    """An UPDATE that also sets `columns`, each from the parameter `set_<column>`: built once per set of columns."""
    return statement.values({name: bindparam(f"set_{name}") for name in columns})


@cache
def _insert_free(key: Column, insert):
    """INSERT of a free lease row, nothing when it exists (`insert`: the dialect's, from `insert_for`)."""
    return insert(key.table).values({key: bindparam("lease_key")}).on_conflict_do_nothing()
