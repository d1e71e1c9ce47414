"""Time for the webhook machinery: one injectable clock (aware datetimes), stored as naive UTC like the store.

The listener (when a row becomes due), the worker (what is due, the backoff, the timestamp header) and replay
share it, so tests step through a retry schedule by moving one clock instead of sleeping.
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
