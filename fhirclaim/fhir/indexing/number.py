"""Number and quantity values (Quantity, Money, SimpleQuantity)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def number_entries(values: list[Any], **_: Any) -> Iterator[dict]:
    for value in values:
        if (amount := _decimal(value)) is not None:
            yield {"kind": "number", "number": amount}


def quantity_entries(values: list[Any], **_: Any) -> Iterator[dict]:
    for value in values:
        if not isinstance(value, dict) or (amount := _decimal(value.get("value"))) is None:
            continue
        if "currency" in value:  # Money
            yield {"kind": "quantity", "number": amount, "system": CURRENCY_SYSTEM, "code": value["currency"]}
        else:
            yield {"kind": "quantity", "number": amount, "system": value.get("system"),
                   "code": value.get("code") or value.get("unit")}
