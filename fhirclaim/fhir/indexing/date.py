"""Date values as UTC ranges, from date, dateTime, instant and Period."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.fhir import dates


def entries(values: list[Any], *, timezone: str = "UTC", **_: Any) -> Iterator[dict]:
    for value in values:
        span = _span(value, timezone)
        if span:
            yield {"kind": "date", "low": span[0], "high": span[1]}


def _span(value: Any, timezone: str):
    try:
        if isinstance(value, str):
            return dates.to_range(value, timezone)
        if isinstance(value, dict) and ("start" in value or "end" in value):  # Period
            low = dates.to_range(value["start"], timezone)[0] if value.get("start") else dates.MIN
            high = dates.to_range(value["end"], timezone)[1] if value.get("end") else dates.MAX
            return low, high
    except dates.DateFormatError:
        return None  # validation rejects bad dates before indexing; never fail an index on one
    return None
