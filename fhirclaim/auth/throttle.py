"""Slowing down guesses at the token endpoint without handing anyone a way to lock others out.

Failures are counted per key: (client id, source address) for a known client — so a guesser elsewhere never
delays the owner — and (source address) alone for client ids that do not exist, so that random ids neither grow
the table nor escape the cap. Each key has `CAP` evaluations free; the evaluation that reaches the cap blocks the
key for 1 s, each further one for twice as long (up to 5 minutes); a success clears the key; a key quiet for
`FORGET_AFTER` starts again from zero.

An evaluation is reserved before the secret is checked, in one write transaction (a conditional UPDATE of the
key's row, which PostgreSQL re-checks under the row lock and SQLite runs under its single writer lock): a burst of
parallel guesses gets exactly `CAP` secret checks, the rest 429 — not one check per request that raced past a
read. The clock is injected, so tests step through the waits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from fhirclaim.clock import naive_utc_now
from fhirclaim.store.unit_of_work import Store

CAP = 3  # evaluations before the first wait: a typo or two costs nothing
FIRST_WAIT = timedelta(seconds=1)
LONGEST_WAIT = timedelta(minutes=5)
FORGET_AFTER = timedelta(minutes=15)


def client_key(client_id: str, address: str) -> str:
    return f"client:{client_id}@{address}"[:128]


def unknown_client_key(address: str) -> str:
    return f"unknown@{address}"[:128]


def wait_after(evaluations: int) -> timedelta | None:
    """How long a key is blocked after its n-th reserved evaluation."""
    if evaluations < CAP:
        return None
    return min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(evaluations - CAP, 20))


class LoginThrottle:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = naive_utc_now):
        self.store = store
        self.clock = clock  # naive UTC

    def reserve(self, key: str) -> int | None:
        """Reserve one evaluation for `key`: None when it may go ahead, else the seconds to wait (429)."""
        now = self.clock()
        with self.store.unit_of_work() as uow:
            blocked_until = uow.login_failures.reserve(key, now, forget_after=FORGET_AFTER, wait_after=wait_after)
        return None if blocked_until is None else max(1, math.ceil((blocked_until - now).total_seconds()))

    def clear(self, key: str) -> None:
        """A success: the key starts from zero; stale keys of anyone are dropped on the way."""
        with self.store.unit_of_work() as uow:
            uow.login_failures.clear(key, self.clock(), forget_after=FORGET_AFTER)
