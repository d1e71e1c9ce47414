"""`IndexEntry`, the one value every extractor yields (its own module: the extractors and the package import it)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class IndexEntry(NamedTuple):
    """One index value (a named tuple: a create makes and de-duplicates a dozen, a frozen dataclass costs 3× as
    much to make and hash, issue 17). The extractors make them directly, not from a dict of fields each."""

    param: str
    kind: str  # token | string | reference | date | number | quantity
    system: str | None = None
    code: str | None = None  # token code; string: normalised value; reference: target id
    text: str | None = None  # string: the exact value; reference: target type
    low: datetime | None = None
    high: datetime | None = None
    number: Decimal | None = None
