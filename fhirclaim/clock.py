"""The server's one clock: an injectable callable answering aware UTC datetimes, and the store's naive-UTC form.

The store, the claim pipeline, webhooks and the BPJS-K rules take "now" from here (`utc_now`, or `naive_utc_now`
for what the store writes) and convert between the store's naive UTC and aware UTC here (`naive_utc`, `as_utc`).

Whatever decides by time (job leases and backoff, webhook delivery, token expiry, BPJS-K's decision period, the
simulator's grace) takes a `Clock`, so tests step through a schedule by moving one clock instead of sleeping.

What waits for something no event announces (another process's lock, a job another process holds) asks again until a
deadline on the monotonic clock: `ask_until`, the one such loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    """The store's representation: UTC without tzinfo (an aware value in any zone is converted)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def naive_utc_now() -> datetime:
    """Now, as the store keeps times (UTC without tzinfo)."""
    return naive_utc(utc_now())


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (a naive one is taken as UTC, as the store keeps them)."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def ask_until(answered: Callable[[], bool], deadline: float, interval: float) -> bool:
    """Call `answered()` until it is true (True) or `deadline` (`time.monotonic()`) has passed (False), waiting
    `interval` seconds between calls, never past the deadline. It is always asked at least once."""
    while not answered():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval, left))
    return True
