"""Money values a signed claim Bundle can carry exactly, checked when a resource is written (architecture §6).

The Bundle is signed over RFC 8785 canonical JSON, whose numbers are IEEE doubles: a decimal of more than 15
significant digits does not survive the trip (1234567890.1234567 is signed as 1234567890.1234567 ± an ulp), so what
BPJS-K verifies would not be what the hospital sent. Such a Money value is refused at write time instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhirclaim.fhir.outcome import Issue, error

MAX_SIGNIFICANT_DIGITS = 15  # every decimal of up to 15 significant digits round-trips through a double
MONEY_ELEMENTS = frozenset({"amount", "net", "unitPrice", "priceOverride", "totalNet", "totalGross", "total",
                            "valueMoney", "gross", "balance", "money", "allowedMoney", "usedMoney"})


def money_issues(resource: dict[str, Any]) -> list[Issue]:
    """An error for each Money value with more significant digits than a signed Bundle carries exactly."""
    if not _too_precise(resource, None):
        return []  # the usual answer, found without a path for every element (issue 17)
    return [error("value", f"{path} = {value} has {digits} significant digits; a signed claim Bundle carries at most "
                           f"{MAX_SIGNIFICANT_DIGITS} exactly (RFC 8785 numbers are doubles)", path)
            for path, value, digits in _money_values(resource, resource.get("resourceType", ""), None)
            if digits > MAX_SIGNIFICANT_DIGITS]


def _too_precise(value: Any, name: str | None) -> bool:
    """Whether `value` holds a Money value that `money_issues` refuses (as `_money_values` finds them)."""
    if isinstance(value, dict):
        number = _money_number(value, name)
        if number is not None and _significant_digits(number) > MAX_SIGNIFICANT_DIGITS:
            return True
        for key, item in value.items():
            if isinstance(item, (dict, list)) and _too_precise(item, key):
                return True
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and _too_precise(item, name):
                return True
    return False


def _money_values(value: Any, path: str, name: str | None) -> list[tuple[str, Any, int]]:
    found = []
    if isinstance(value, dict):
        number = _money_number(value, name)
        if number is not None:
            found.append((f"{path}.value", number, _significant_digits(number)))
        for key, item in value.items():
            found += _money_values(item, f"{path}.{key}", key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _money_values(item, f"{path}[{index}]", name)
    return found


def _money_number(value: dict[str, Any], name: str | None) -> int | float | Decimal | None:
    """The number of a Money value (an element with a currency, or one of `MONEY_ELEMENTS`), else None."""
    number = value.get("value")
    if isinstance(number, (int, float, Decimal)) and not isinstance(number, bool) and (
            "currency" in value or name in MONEY_ELEMENTS):
        return number
    return None


def _significant_digits(number: int | float | Decimal) -> int:
    if type(number) is int:  # the usual Money value (whole rupiah): its digits but the trailing zeros, no Decimal
        return len(str(abs(number)).rstrip("0")) or 1
    decimal = number if isinstance(number, Decimal) else Decimal(str(number))
    if not decimal.is_finite() or decimal.is_zero():
        return 1
    return len(decimal.normalize().as_tuple().digits)
