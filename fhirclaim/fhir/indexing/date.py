"""Date values as UTC ranges, from date, dateTime, instant and Period."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.fhir import dates
from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.search_params import SearchParameter


def entries(values: list[Any], *, param: SearchParameter, timezone: str = "UTC", **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        span = _span(value, timezone)
        if span:
            yield IndexEntry(param.name, "date", low=span[0], high=span[1])


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
