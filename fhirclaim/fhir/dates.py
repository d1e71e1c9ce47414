"""FHIR date, dateTime and instant values as UTC ranges.

A FHIR date is a range as wide as its precision: `2024-03` is all of March. Indexing and searching both turn a
value into `[low, high)` in naive UTC, so that every prefix (eq, lt, ge, ...) is a comparison of ranges. Values
without a time zone are read in the server's time zone (WIB by default), as a hospital means them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

MIN = datetime(1, 1, 1)
MAX = datetime(9999, 12, 31, 23, 59, 59)

# ASCII digits only (`\d` would take `٢٠٢٤`), and the offsets R4 allows: -13:59 to +14:00
_PATTERN = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<tz>Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)?)?)?)?$",
    re.ASCII,
)


class DateFormatError(ValueError):
    pass


def to_range(text: str, default_tz: tzinfo | str = "UTC") -> tuple[datetime, datetime]:
    """`[low, high)` of a FHIR date/dateTime/instant, naive UTC."""
    if not isinstance(text, str):
        raise DateFormatError(f"{str(text)[:40]!r} is not a FHIR date, dateTime or instant")
    return _range(text, default_tz)


@lru_cache(maxsize=4096)
def _range(text: str, default_tz: tzinfo | str) -> tuple[datetime, datetime]:
    """`to_range`, remembered: the same dates come again and again (a Claim's `created`, an encounter's period,
    written, indexed and put on the worklist line: issue 17), and the answer is two immutable datetimes. A
    malformed value raises and is not remembered."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise DateFormatError(f"{str(text)[:40]!r} is not a FHIR date, dateTime or instant")
    parts = match.groupdict()
    try:
        year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
        hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
        second = int(parts["second"] or 0)
        micro = int(((parts["fraction"] or ".0")[1:] + "000000")[:6])
        start = datetime(year, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise DateFormatError(f"{text[:40]!r} is not a valid date: {exc}") from None
    zone = _zone(parts["tz"], default_tz)
    return _utc(start, zone), _utc(_end(start, parts), zone)


def _end(start: datetime, parts: dict[str, str | None]) -> datetime:
    """The exclusive end of the range a value of this precision names; MAX past year 9999."""
    if parts["day"] is None:  # a year or a month
        year, month = divmod(start.year * 12 + start.month - 1 + (1 if parts["month"] else 12), 12)
        return datetime(year, month + 1, 1) if year <= 9999 else MAX
    if parts["second"] is not None:  # a fraction's precision is its digits (`.123`: a millisecond), to the µs kept
        fraction = parts["fraction"]  # with its dot
        width = timedelta(microseconds=10 ** (7 - min(len(fraction), 7))) if fraction else timedelta(seconds=1)
    else:
        width = timedelta(minutes=1) if parts["minute"] is not None else timedelta(days=1)
    try:
        return start + width
    except OverflowError:
        return MAX


def _zone(designator: str | None, default_tz: tzinfo | str) -> tzinfo:
    if designator == "Z":
        return timezone.utc
    if designator:
        sign = 1 if designator[0] == "+" else -1
        hours, minutes = int(designator[1:3]), int(designator[4:6])
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return ZoneInfo(default_tz) if isinstance(default_tz, str) else default_tz


def _utc(moment: datetime, zone: tzinfo) -> datetime:
    try:
        return moment.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        return MIN if moment.year < 5000 else MAX


def instant(moment: datetime) -> str:
    """An R4 instant: UTC, millisecond precision, `Z`. `isoformat` rather than `strftime`: a third of the cost on
    every write's `meta.lastUpdated` (issue 17), and a four-digit year whatever the year."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"
