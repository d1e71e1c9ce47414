"""Claim.supportingInfo by category: the E-Klaim inputs that are not core Claim elements.

SATUSEHAT's categories (class upgrade) and this server's own (ICU days, ventilator hours, ADL, birth weight,
upgrade LOS, add-payment percentage, special CMG choice, executive clinic; profiles/
CodeSystem-claim-information-category.json). Values are read as the concept says: numbers as valueQuantity in
the concept's unit (converted where the unit table allows), choices as code or valueString.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.fhirvalues import codings, decimal
from fhirclaim.fhir.outcome import Issue, error

# Categories whose entries add up (an ICU stay in two parts); any other category may appear once.
_SUMMED = frozenset({"icu-days", "ventilator-hours"})
_KEMKES_CATEGORIES = frozenset({"upgrade-class-indicator", "upgrade-class-class"})


@dataclass(frozen=True)
class Entry:
    """One supportingInfo entry of a category this server reads."""

    category: str
    index: int
    info: dict[str, Any]

    @property
    def expression(self) -> str:
        return f"Claim.supportingInfo[{self.index}]"


@dataclass
class SupportingInfo:
    """The categories found on a Claim, with the issues met while reading their values."""

    entries: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    issues: list[Issue] = field(default_factory=list)

    def where(self, category: str) -> str:
        found = self.entries.get(category)
        return found[0].expression if found else "Claim.supportingInfo"

    def number(self, category: str) -> Decimal | None:
        """The category's number in E-Klaim's unit (summed where that makes sense), None when absent."""
        found = self.entries.get(category) or []
        if not found:
            return None
        if len(found) > 1 and category not in _SUMMED:
            self._twice(category, found)
        values = [self._quantity(entry) for entry in (found if category in _SUMMED else found[:1])]
        if any(v is None for v in values):
            return None
        return sum((v for v in values if v is not None), Decimal(0))

    def flag(self, category: str) -> bool:
        return any(entry.info.get("valueBoolean") is True for entry in self.entries.get(category) or [])

    def choice(self, category: str, system: str | None = None) -> str | None:
        """A coded choice: supportingInfo.code (of `system` when given), else valueString."""
        found = self.entries.get(category) or []
        if len(found) > 1:
            self._twice(category, found)
        return _choice(found[0], system) if found else None

    def choices(self, category: str, system: str | None = None) -> list[str]:
        """Every choice of a category that may repeat; a valueString may itself join choices with '#'."""
        picked: list[str] = []
        for entry in self.entries.get(category) or []:
            value = _choice(entry, system)
            picked.extend(part.strip() for part in (value or "").split("#") if part.strip())
        return list(dict.fromkeys(picked))

    def _quantity(self, entry: Entry) -> Decimal | None:
        info = entry.info
        quantity = info.get("valueQuantity")
        if isinstance(quantity, dict):
            value = decimal(quantity.get("value"))
            unit = quantity.get("code") or quantity.get("unit")
            factor = _unit_factor(entry.category, unit)
            if value is not None and factor is not None:
                return value * factor
            if value is not None:
                self.issues.append(
                    error("value", f"Unit '{unit}' is not one this server converts for {entry.category}; use "
                          f"{_concept_unit(entry.category)}.", f"{entry.expression}.valueQuantity")
                )
                return None
        elif decimal(info.get("valueString")) is not None:
            return decimal(info.get("valueString"))
        self.issues.append(
            error("value", f"{entry.category} needs a number (valueQuantity in {_concept_unit(entry.category)}).",
                  f"{entry.expression}.valueQuantity")
        )
        return None

    def _twice(self, category: str, found: list[Entry]) -> None:
        issue = error("structure", f"Category {category} appears {len(found)} times; E-Klaim takes one value.",
                      *(e.expression for e in found))
        if issue not in self.issues:
            self.issues.append(issue)


def read_supporting_info(claim: dict[str, Any]) -> SupportingInfo:
    found = SupportingInfo()
    for index, info in enumerate(claim.get("supportingInfo") or []):
        if not isinstance(info, dict):
            continue
        category = _category(info.get("category"))
        if category:
            found.entries[category].append(Entry(category, index, info))
    return found


def _category(concept: Any) -> str | None:
    for _, coding in codings(concept):
        code = coding.get("code")
        if not isinstance(code, str):
            continue
        if coding.get("system") == systems.INFO_CATEGORY and code_tables.concept(systems.INFO_CATEGORY, code):
            return code
        if coding.get("system") == systems.KEMKES_INFO_CATEGORY and code in _KEMKES_CATEGORIES:
            return code
    return None


def _choice(entry: Entry, system: str | None) -> str | None:
    for _, coding in codings(entry.info.get("code")):
        if system is None or coding.get("system") == system:
            if isinstance(coding.get("code"), str):
                return coding["code"].strip()
    value = entry.info.get("valueString")
    return value.strip() if isinstance(value, str) else None


def _unit_factor(category: str, unit: Any) -> Decimal | None:
    if unit in (None, ""):
        return Decimal(1)
    units = code_tables.data_table("eklaim_mapping")["quantity_units"].get(category, {})
    factor = units.get(str(unit))
    return Decimal(str(factor)) if factor is not None else None


def _concept_unit(category: str) -> str:
    return code_tables.concept_property(code_tables.concept(systems.INFO_CATEGORY, category), "unit") or "its unit"
