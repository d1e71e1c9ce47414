"""Integers a client sends (`_count`, `_offset`, a version in a URL, an ETag): ASCII digits only, within the
range of the column they end up in.

`str.isdigit()` is true for `²` and `①`, which `int()` then refuses, and `int()` reads Arabic-Indic or Devanagari
digits as numbers; an unbounded integer overflows the database's INTEGER (SQLite raises, PostgreSQL too). Every
integer from the outside is read here, so none of that reaches the store.
"""

from __future__ import annotations

import re

from fhirclaim.fhir.outcome import FhirError

MAX_INT = 2**31 - 1  # an INTEGER column on PostgreSQL (SQLite's is wider): versions, offsets, row ids
_DIGITS = re.compile(r"[0-9]{1,10}")


def ascii_int(text: object, *, maximum: int = MAX_INT) -> int | None:
    """`text` as a non-negative integer of ASCII digits no larger than `maximum`, else None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


def non_negative(name: str, text: str, *, maximum: int = MAX_INT) -> int:
    """A non-negative integer query parameter, or FhirError 400 naming it."""
    value = ascii_int(text, maximum=maximum)
    if value is None:
        raise FhirError.of(400, "value", f"{name} must be an integer from 0 to {maximum}, not {text[:32]!r}", name)
    return value
