"""Number and quantity values (Quantity, Money, SimpleQuantity)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.search_params import SearchParameter

CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def number_entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        if (amount := _decimal(value)) is not None:
            yield IndexEntry(param.name, "number", number=amount)


def quantity_entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        if not isinstance(value, dict) or (amount := _decimal(value.get("value"))) is None:
            continue
        if "currency" in value:  # Money
            yield IndexEntry(param.name, "quantity", CURRENCY_SYSTEM, value["currency"], number=amount)
        else:
            yield IndexEntry(param.name, "quantity", value.get("system"), value.get("code") or value.get("unit"),
                             number=amount)
