"""Billing and stay rules (seed 003: the bill and the stay disagree): the invoice total against tarif_rs, services
dated outside the stay, ventilation without its hours, class upgrades (undeclared, or not to a higher class),
implausible birth weights."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from fhirclaim.claims.fhirvalues import codings, decimal, parse_datetime
from fhirclaim.claims.rules.base import Case, Finding, precheck_table
from fhirclaim.claims.rules.record import WARD_CLASS

CLASS_RANK = {"3": 3, "kelas_3": 3, "2": 2, "kelas_2": 2, "1": 1, "kelas_1": 1, "vip": 0}


def invoice_total_mismatch(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    invoice, facts = case.ctx.invoice, case.facts
    gross = decimal(((invoice or {}).get("totalGross") or {}).get("value"))
    if gross is None or facts.tarif_rs is None or facts.where.get("tarif_rs") == "Invoice.totalGross":
        return
    if abs(gross - facts.tarif_rs) > Decimal(params["tolerance"]):
        yield Finding((facts.where["tarif_rs"], "Invoice.totalGross"),
                      {"tarif": f"{int(facts.tarif_rs):,}", "invoice": f"{int(gross):,}"},
                      (f"Invoice/{invoice.get('id')}",))  # type: ignore[union-attr]


def service_outside_stay(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    facts, record = case.facts, case.record
    if record is None or not (facts.admission and facts.discharge) or facts.discharge < facts.admission:
        return
    first, last = facts.admission.date(), facts.discharge.date()
    for item in record.charge_items:
        for moment in _occurrences(item, facts.admission.tzinfo):
            if not first <= moment <= last:
                reference = f"ChargeItem/{item.get('id')}"
                yield Finding((f"{reference}.occurrence", facts.where["admission"], facts.where["discharge"]),
                              {"item": reference, "day": moment.isoformat(), "first": first.isoformat(),
                               "last": last.isoformat()}, (reference,))
                break


def ventilation_hours(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """96.70–96.72 need ventilator_hour, in the code's range and within the stay."""
    table = precheck_table("procedure_support")["ventilation"]["procedures"]
    hours, facts = case.facts.ventilator_hours, case.facts
    los = facts.length_of_stay
    for coded in facts.procedures:
        if coded.code not in table:
            continue
        low, high = table[coded.code]
        too_long = hours is not None and los is not None and los >= 0 and hours > max(los, 1) * 24
        if not hours or not low <= hours < high or too_long:
            yield Finding((coded.expression, facts.where["ventilator_hours"]),
                          {"procedure": coded.code, "hours": hours if hours is not None else "-",
                           "range": f"{low}..{high if high < 100000 else '∞'}"})


def upgrade_undeclared(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """A room charged in a higher class than the member's, with no class upgrade declared."""
    facts, record = case.facts, case.record
    if record is None or not facts.inpatient or facts.upgrade_class_ind == "1" or not facts.kelas_rawat:
        return
    for item in record.charge_items:
        ward = next((c["code"] for _, c in codings(item.get("code")) if c.get("system") == WARD_CLASS), None)
        if ward in CLASS_RANK and CLASS_RANK[ward] < CLASS_RANK[facts.kelas_rawat]:
            reference = f"ChargeItem/{item.get('id')}"
            yield Finding((facts.where["upgrade_class_ind"], f"{reference}.code"),
                          {"ward": ward, "klass": facts.kelas_rawat}, (reference,))
            return


def upgrade_not_higher(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    facts = case.facts
    if facts.upgrade_class_ind != "1" or not (facts.kelas_rawat and facts.upgrade_class_class):
        return
    if facts.kelas_rawat == "3":
        return  # PRECHECK-UPGRADE-FROM-CLASS-3
    if CLASS_RANK.get(facts.upgrade_class_class, 9) >= CLASS_RANK[facts.kelas_rawat]:
        yield Finding((facts.where["upgrade_class_class"], facts.where.get("kelas_rawat", "Coverage.class")),
                      {"target": facts.upgrade_class_class, "klass": facts.kelas_rawat})


def birth_weight_implausible(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    weight = case.facts.birth_weight
    if weight is not None and weight > 0 and not params["low"] <= weight <= params["high"]:
        yield Finding((case.facts.where["birth_weight"],), {"weight": int(weight)})


def _occurrences(item: dict[str, Any], zone: Any) -> list[Any]:
    period = item.get("occurrencePeriod") or {}
    texts = [item.get("occurrenceDateTime"), period.get("start"), period.get("end")]
    key = getattr(zone, "key", None) or "Asia/Jakarta"
    moments = [parse_datetime(t, key) for t in texts if isinstance(t, str)]
    return [m.date() for m in moments if m is not None]
