"""The E-Klaim 5.10 `tarif_rs` object: the claim's billed total split over E-Klaim's 18 cost categories.

Each billed ChargeItem goes to one category by the declared table `data/tariff_breakdown.json`: the ChargeItem's
own `eklaim-tariff-category` extension first, then its code, then its code system. An item the table does not
place goes to the table's default category with a warning naming it, and so does any rest between the ChargeItems
and the billed total (Claim.total, else Invoice.totalGross): the categories always add up to the billed total that
E-Klaim 5.1 got as one number. ChargeItems adding up to more than the billed total are an error — one of the two
is wrong, and E-Klaim would record a tariff the hospital did not bill.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.fhirvalues import as_dict, as_list, codings, decimal, rupiah
from fhirclaim.fhir.outcome import Issue, error, warning


@dataclass
class TariffBreakdown:
    """Whole rupiah per E-Klaim category (all 18 keys), blood bags billed, and what the split had to say."""

    amounts: dict[str, int]
    blood_bags: int = 0
    issues: list[Issue] = field(default_factory=list)

    def as_eklaim(self) -> dict[str, str]:
        """E-Klaim's `tarif_rs` object: every key, each an integer string as the manual writes them."""
        return {key: str(value) for key, value in self.amounts.items()}


def tariff_breakdown(charge_items: Iterable[dict[str, Any]], billed_total: Decimal) -> TariffBreakdown:
    """Split `billed_total` over the categories by the ChargeItems billed for it."""
    table = _table()
    default = table["default_category"]
    sums: dict[str, Decimal] = {key: Decimal(0) for key in table["categories"]}
    result = TariffBreakdown(amounts={})
    counted = [item for item in charge_items
               if isinstance(item, dict) and item.get("status", "billable") in table["counted_statuses"]]
    for item in counted:
        amount, category = _amount(item, result.issues), _category(item, table, result.issues)
        sums[category] += amount
        if category == "pelayanan_darah":
            result.blood_bags += int(decimal(as_dict(item.get("quantity")).get("value")) or 1)
    rest = billed_total - sum(sums.values(), Decimal(0))
    if rest < 0:
        result.issues.append(error(
            "value", f"The billed ChargeItems add up to Rp {rupiah(billed_total - rest)}, more than the billed total "
            f"Rp {rupiah(billed_total)} (tarif_rs): correct the ChargeItems or the total.", "Claim.total"))
    elif rest > 0:
        sums[default] += rest
        result.issues.append(warning(
            "incomplete", f"Rp {rupiah(rest)} of the billed total has no billed ChargeItem; it is reported under "
            f"tarif_rs.{default}." if counted else f"The claim's billed ChargeItems are not known; the whole "
            f"billed total is reported under tarif_rs.{default}.", "Claim.total"))
    result.amounts = _whole_rupiah(sums, billed_total)
    return result


def _table() -> dict[str, Any]:
    return code_tables.data_table("tariff_breakdown")


def _label(item: dict[str, Any]) -> str:
    return f"ChargeItem/{item.get('id', '?')}"


def _amount(item: dict[str, Any], issues: list[Issue]) -> Decimal:
    """The item's price: Kemkes totalPrice, else priceOverride, else unitPrice × quantity."""
    extensions = {str(e.get("url")): e for e in as_list(item.get("extension")) if isinstance(e, dict)}
    total = decimal(as_dict(as_dict(extensions.get(systems.KEMKES_TOTAL_PRICE_EXT)).get("valueMoney")).get("value"))
    if total is not None:
        return total
    override = decimal(as_dict(item.get("priceOverride")).get("value"))
    if override is not None:
        return override
    unit = decimal(as_dict(as_dict(extensions.get(systems.KEMKES_UNIT_PRICE_EXT)).get("valueMoney")).get("value"))
    quantity = decimal(as_dict(item.get("quantity")).get("value"))
    if unit is not None:
        return unit * (quantity if quantity is not None else Decimal(1))
    issues.append(warning("incomplete", f"{_label(item)} has no price (totalPrice, priceOverride or unitPrice); it "
                          "adds nothing to the tarif_rs breakdown.", "ChargeItem.extension"))
    return Decimal(0)


def _category(item: dict[str, Any], table: dict[str, Any], issues: list[Issue]) -> str:
    for extension in as_list(item.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == systems.TARIFF_CATEGORY_EXT:
            code = as_dict(extension.get("valueCoding")).get("code")
            if code in table["categories"]:
                return code
            issues.append(warning("code-invalid", f"{_label(item)}: {code!r} is not an E-Klaim tarif_rs category "
                                  f"({systems.EKLAIM_TARIFF_CATEGORY}); the table decides instead.",
                                  "ChargeItem.extension"))
    for _, coding in codings(item.get("code")):
        found = table["codes"].get(_text(coding.get("system")), {}).get(_text(coding.get("code")))
        if found:
            return found
    for _, coding in codings(item.get("code")):
        if _text(coding.get("system")) in table["systems"]:
            return table["systems"][coding["system"]]
    shown = next((f"{c.get('system')}|{c.get('code')}" for _, c in codings(item.get("code"))), "no code")
    issues.append(warning("code-unknown", f"{_label(item)} ({shown}) has no E-Klaim tarif_rs category: it is "
                          f"reported under {table['default_category']}. Send the eklaim-tariff-category extension "
                          f"({systems.TARIFF_CATEGORY_EXT}) to place it.", "ChargeItem.code"))
    return table["default_category"]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _whole_rupiah(sums: dict[str, Decimal], billed_total: Decimal) -> dict[str, int]:
    """Each category rounded to whole rupiah; the rounding rest goes to the largest, so the total stays exact."""
    amounts = {key: int(rupiah(value)) for key, value in sums.items()}
    residual = int(rupiah(max(billed_total, sum(sums.values(), Decimal(0))))) - sum(amounts.values())
    if residual:
        largest = max(amounts, key=lambda key: amounts[key])
        amounts[largest] += residual
    return amounts
