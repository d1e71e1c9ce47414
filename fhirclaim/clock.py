"""The server's one clock: an injectable callable answering aware UTC datetimes, and the store's naive-UTC form.

Whatever decides by time (job leases and backoff, webhook delivery, token expiry, BPJS-K's decision period, the
simulator's grace) takes a `Clock`, so tests step through a schedule by moving one clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    """The store's representation: UTC without tzinfo (an aware value in any zone is converted)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
