"""Reading FHIR JSON datatypes as Python values: dateTimes in a hospital's zone, codings, names, money.

Small and forgiving about shape (a list where one value was expected, a missing system), strict about meaning
(a dateTime without a day is not a date E-Klaim can use).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$"
)


def parse_datetime(text: Any, zone: str) -> datetime | None:
    """A FHIR date/dateTime with at least a day, as an aware datetime in `zone` (None when it is not one).

    Offsets are honoured and converted; a value without offset (a bare date, or a time the sender left unzoned)
    is read as the hospital's local time, which is what a hospital means by it.
    """
    if not isinstance(text, str):
        return None
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    local = ZoneInfo(zone)
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if offset is None:
        return moment.replace(tzinfo=local)
    return moment.replace(tzinfo=_offset(offset)).astimezone(local)


def _offset(designator: str) -> timezone:
    if designator == "Z":
        return timezone.utc
    sign = -1 if designator[0] == "-" else 1
    hours, minutes = int(designator[1:3]), int(designator[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(text: Any) -> date | None:
    """A FHIR date with a day (birthDate), or None."""
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text.strip()[:10]) if len(text.strip()) >= 10 else None
    except ValueError:
        return None


def eklaim_datetime(moment: datetime) -> str:
    """E-Klaim's `YYYY-MM-DD HH:MM:SS` (the moment must already be in the hospital's zone)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def codings(concept: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, coding) of a CodeableConcept; a bare Coding (R4 Encounter.class) counts as one."""
    if not isinstance(concept, dict):
        return
    if "coding" not in concept and "code" in concept:
        yield 0, concept
        return
    found = concept.get("coding")
    for index, coding in enumerate(found if isinstance(found, list) else []):
        if isinstance(coding, dict):
            yield index, coding


def matches(coding: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Does `coding` carry `wanted`'s code (and its system, when `wanted` names one)?"""
    if coding.get("code") != wanted.get("code"):
        return False
    return "system" not in wanted or coding.get("system") == wanted["system"]


def has_coding(concept: Any, wanted: list[dict[str, Any]]) -> bool:
    return any(matches(coding, w) for _, coding in codings(concept) for w in wanted)


def human_name(names: Any) -> str | None:
    """A person's name as one string: the official name first, its text when given."""
    candidates = [n for n in names or [] if isinstance(n, dict)]
    candidates.sort(key=lambda n: n.get("use") != "official")
    for name in candidates:
        if isinstance(name.get("text"), str) and name["text"].strip():
            return " ".join(name["text"].split())
        parts = [*(name.get("prefix") or []), *(name.get("given") or [])]
        if name.get("family"):
            parts.append(name["family"])
        text = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        suffix = ", ".join(s.strip() for s in name.get("suffix") or [] if isinstance(s, str) and s.strip())
        if text:
            return f"{text}, {suffix}" if suffix else text
    return None


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: for reading optional elements of unchecked input."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def decimal(value: Any) -> Decimal | None:
    """A JSON number (or numeric string) as Decimal; booleans and garbage are None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def rupiah(amount: Decimal) -> str:
    """Whole rupiah as E-Klaim wants them: no decimals, half up."""
    return str(int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def plain_number(amount: Decimal) -> str:
    """`5`, `2.5`: an integral value without `.0`, a fraction without trailing zeros."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return format(amount.normalize(), "f")
