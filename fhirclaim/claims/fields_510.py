"""The set_claim_data fields E-Klaim 5.10 added to 5.1, each read from its natural FHIR source.

`read_fields_510` returns the values ready for the payload (E-Klaim's names and value sets, manual 5.10
set_claim_data) and the issues met; a field whose source is absent is left out, which E-Klaim reads as "no
change". The FHIRPath of each source is in docs/eklaim-5.10-fields.md; the code tables in
data/eklaim_510_mapping.json.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.claim_context import ClaimContext, focal_insurance, lookup, reference_of
from fhirclaim.claims.facts import ClaimFacts
from fhirclaim.claims.fhirvalues import (
    as_dict,
    as_list,
    codings,
    decimal,
    eklaim_datetime,
    has_coding,
    parse_datetime,
)
from fhirclaim.claims.payors import claim_payor, needs_generated_claim_number, payor_code  # noqa: F401 (re-exported)
from fhirclaim.claims.supporting import read_supporting_info
from fhirclaim.claims.tariff_breakdown import tariff_breakdown
from fhirclaim.fhir.outcome import Issue, error, warning

_SKIPPED_STATUSES = frozenset({"entered-in-error", "cancelled"})


@dataclass(frozen=True)
class _Source:
    ctx: ClaimContext
    facts: ClaimFacts
    payor_id: str
    zone: str


@dataclass
class Fields510:
    values: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def table() -> dict[str, Any]:
    return code_tables.data_table("eklaim_510_mapping")


def read_fields_510(ctx: ClaimContext, facts: ClaimFacts, payor_id: str, zone: str) -> Fields510:
    """The 5.10-only fields of `ctx` (`facts` already read; `payor_id` the claim's E-Klaim payor; `zone` the
    hospital's time zone)."""
    found, source = Fields510(), _Source(ctx, facts, payor_id, zone)
    for reader in (_tarif_rs, _cara_masuk, _blood_pressure, _ventilator, _upgrade_payor, _cob, _card_type,
                   _newborn, _apgar, _persalinan):
        reader(source, found)
    return found


# --- the claim's kind and its payor -------------------------------------------------------------------------

def sitb_registration(ctx: ClaimContext) -> str | None:
    """The SITB registration number (supportingInfo sitb-registration) of a tuberculosis claim, for sitb_validate;
    None for a claim without a TB diagnosis (E-Klaim validates SITB only for those) or without the number."""
    value = read_supporting_info(ctx.claim).choice("sitb-registration")
    return (value or None) if has_tuberculosis(ctx) else None


def has_tuberculosis(ctx: ClaimContext) -> bool:
    """A diagnosis in A15-A19: E-Klaim refuses claim_final until SITB validated it (E2066)."""
    wanted = tuple(table()["tuberculosis_diagnoses"]["categories"])
    return any(code.startswith(wanted) for code in _diagnosis_codes(ctx))


# --- readers -------------------------------------------------------------------------------------------------

def _tarif_rs(src: _Source, found: Fields510) -> None:
    ctx, facts = src.ctx, src.facts
    if facts.tarif_rs is None:
        return
    breakdown = tariff_breakdown(ctx.charge_items.values(), facts.tarif_rs)
    found.values["tarif_rs"] = breakdown.as_eklaim()
    if breakdown.blood_bags:
        found.values["kantong_darah"] = breakdown.blood_bags  # an integer, as the manual's example
    found.issues.extend(breakdown.issues)


def _cara_masuk(src: _Source, found: Fields510) -> None:
    ctx = src.ctx
    source = as_dict(as_dict(ctx.encounter).get("hospitalization")).get("admitSource")
    if source is None:
        return
    mapping = table()["cara_masuk"]
    for _, coding in codings(source):
        code = coding.get("code")
        if coding.get("system") in mapping["systems"] and isinstance(code, str) and code in mapping["codes"]:
            found.values["cara_masuk"] = mapping["codes"][code]
            return
    found.issues.append(error("code-invalid", "Encounter.hospitalization.admitSource must be an admit-source code "
                              f"E-Klaim knows ({', '.join(mapping['codes'])}) of {' or '.join(mapping['systems'])}: "
                              "it fills cara_masuk.", "Encounter.hospitalization.admitSource"))


def _blood_pressure(src: _Source, found: Fields510) -> None:
    """The first blood pressure of the stay (the admission's): a 85354-9 panel or separate 8480-6 / 8462-4."""
    ctx = src.ctx
    codes = table()["blood_pressure"]
    for name in ("sistole", "diastole"):
        readings = sorted(_readings(ctx, codes[name], src.zone), key=lambda pair: pair[0])
        if readings:
            found.values[name] = int(readings[0][1].to_integral_value())


def _readings(ctx: ClaimContext, code: str, zone: str) -> Iterable[tuple[float, Decimal]]:
    """(when, value) of every reading of LOINC `code`: an Observation of its own or a component of a panel."""
    for observation in _observations(ctx):
        moment = _effective(observation, zone)
        parts = [observation] + [c for c in as_list(observation.get("component")) if isinstance(c, dict)]
        for part in parts:
            value = _number(part) if _is_code(part.get("code"), code) else None
            if value is not None:
                yield moment, value


def _ventilator(src: _Source, found: Fields510) -> None:
    ctx, facts = src.ctx, src.facts
    period, where = _ventilation_period(ctx)
    if period is None:
        found.values["ventilator"] = {"use_ind": "0"}
        return
    zone = src.zone
    start, stop = parse_datetime(period.get("start"), zone), parse_datetime(period.get("end"), zone)
    if start is None or stop is None or stop < start:
        found.issues.append(error("value", "Mechanical ventilation needs a start and an end, the end not before the "
                                  "start: E-Klaim 5.10 takes ventilator.start_dttm and stop_dttm.", where))
        return
    found.values["ventilator"] = {"use_ind": "1", "start_dttm": eklaim_datetime(start),
                                  "stop_dttm": eklaim_datetime(stop)}
    if facts.ventilator_hours is None:
        found.values["ventilator_hour"] = str(math.ceil((stop - start).total_seconds() / 3600))


def _ventilation_period(ctx: ClaimContext) -> tuple[dict[str, Any] | None, str]:
    info = read_supporting_info(ctx.claim)
    entries = info.entries.get("ventilator") or []
    if entries:
        return as_dict(entries[0].info.get("timingPeriod")), f"{entries[0].expression}.timingPeriod"
    wanted = table()["ventilation"]["codings"]
    for index, entry in enumerate(as_list(ctx.claim.get("procedure"))):
        procedure = as_dict(lookup(ctx.procedures, reference_of(as_dict(entry).get("procedureReference"))))
        if has_coding(procedure.get("code"), wanted):
            return as_dict(procedure.get("performedPeriod")), f"Claim.procedure[{index}].procedureReference"
    return None, "Claim.supportingInfo"


def _upgrade_payor(src: _Source, found: Fields510) -> None:
    ctx, facts = src.ctx, src.facts
    if facts.upgrade_class_ind != "1":
        return
    info, allowed = read_supporting_info(ctx.claim), table()["upgrade_class_payor"]["codes"]
    chosen = info.choice("upgrade-class-payor")
    if chosen in allowed:
        found.values["upgrade_class_payor"] = chosen
    elif chosen:
        found.issues.append(error("code-invalid", f"upgrade-class-payor {chosen!r} is not one of {', '.join(allowed)}"
                                  " (E-Klaim upgrade_class_payor, E2064).", info.where("upgrade-class-payor")))
    elif _other_insurance(ctx.claim):
        found.values["upgrade_class_payor"] = "asuransi_tambahan"
    else:
        found.values["upgrade_class_payor"] = "peserta"
        found.issues.append(warning("incomplete", "The class upgrade names no payer (supportingInfo "
                                    "upgrade-class-payor): E-Klaim is told the patient pays (peserta).",
                                    "Claim.supportingInfo"))


def _cob(src: _Source, found: Fields510) -> None:
    """A coordination-of-benefit insurer: the non-focal insurance naming its E-Klaim COB code; "#" clears it."""
    ctx = src.ctx
    found.values["cob_cd"] = "#"
    for entry in _other_insurance(ctx.claim):
        identifier = as_dict(as_dict(entry.get("coverage")).get("identifier"))
        if identifier.get("system") == systems.EKLAIM_COB_SYSTEM and identifier.get("value"):
            found.values["cob_cd"] = str(identifier["value"]).strip()
            return


def _card_type(src: _Source, found: Fields510) -> None:
    """nomor_kartu_t: what the card number is, for payors other than JKN."""
    ctx, facts, payor_id = src.ctx, src.facts, src.payor_id
    if payor_id == "3" or ctx.coverage is None:
        return
    mapping = table()["card_types"]
    for identifier in as_list(ctx.coverage.get("identifier")):
        if not isinstance(identifier, dict) or str(identifier.get("value", "")).strip() != facts.nomor_kartu:
            continue
        for _, coding in codings(identifier.get("type")):
            if coding.get("system") == systems.EKLAIM_CARD_TYPE and coding.get("code") in mapping["codes"]:
                found.values["nomor_kartu_t"] = coding["code"]
                return
        for prefix, card_type in mapping["systems"].items():
            if str(identifier.get("system", "")).startswith(prefix):
                found.values["nomor_kartu_t"] = card_type
                return
    found.issues.append(warning("incomplete", "The Coverage does not say what kind of number the card number is "
                                f"(Coverage.identifier.type of {systems.EKLAIM_CARD_TYPE}): E-Klaim asks "
                                "nomor_kartu_t for payors other than JKN.", "Coverage.identifier"))


def _newborn(src: _Source, found: Fields510) -> None:
    """bayi_lahir_status_cd for Jaminan Bayi Baru Lahir: 2 with a congenital anomaly (Q00-Q99), else 1."""
    ctx, payor_id = src.ctx, src.payor_id
    if payor_id != "73":
        return
    anomaly = any(code.startswith(table()["congenital_anomaly_chapter"]["prefix"]) for code in _diagnosis_codes(ctx))
    found.values["bayi_lahir_status_cd"] = 2 if anomaly else 1


def _apgar(src: _Source, found: Fields510) -> None:
    ctx = src.ctx
    codes, apgar = table()["apgar"], {}
    for minute in ("menit_1", "menit_5"):
        signs = {sign: _sign(ctx, code, codes[minute]["panel"], codes["answers"])
                 for sign, code in codes[minute].items() if sign != "panel"}
        if all(value is not None for value in signs.values()):
            apgar[minute] = signs
        elif any(value is not None for value in signs.values()):
            found.issues.append(warning("incomplete", f"The APGAR score at {minute.replace('_', ' ')} lacks a sign "
                                        f"({', '.join(s for s, v in signs.items() if v is None)}): E-Klaim takes all "
                                        "five, so it is not sent.", "Observation.component"))
    if apgar:
        found.values["apgar"] = apgar


def _sign(ctx: ClaimContext, code: str, panel: str, answers: dict[str, int]) -> int | None:
    for observation in _observations(ctx):
        parts = [observation] + [c for c in as_list(observation.get("component")) if isinstance(c, dict)]
        for part in parts:
            if _is_code(part.get("code"), code):
                for _, answer in codings(part.get("valueCodeableConcept")):
                    if isinstance(answer.get("code"), str) and answer["code"] in answers:
                        return answers[answer["code"]]
                value = _number(part)
                if value is not None and value in (0, 1, 2):
                    return int(value)
    return None


def _persalinan(src: _Source, found: Fields510) -> None:
    ctx = src.ctx
    history, codes = {}, table()["obstetric_history"]
    for name, loincs in codes.items():
        if name.startswith("_"):
            continue
        value = next((v for loinc in loincs for _, v in _readings(ctx, loinc, src.zone)), None)
        if value is not None:
            history[name] = str(int(value.to_integral_value()))
    deliveries = _deliveries(ctx, src.zone)
    if history or deliveries:
        found.values["persalinan"] = {**history, **({"delivery": deliveries} if deliveries else {})}


def _deliveries(ctx: ClaimContext, zone: str) -> list[dict[str, str]]:
    """One delivery per delivery procedure (ICD-9-CM 72-74) named in Claim.procedure, in time order."""
    rules, found = table()["delivery_procedures"], []
    for entry in [e for e in as_list(ctx.claim.get("procedure")) if isinstance(e, dict)]:
        procedure = as_dict(lookup(ctx.procedures, reference_of(entry.get("procedureReference"))))
        concept = entry.get("procedureCodeableConcept") or procedure.get("code")
        code = next((c["code"] for _, c in codings(concept)
                     if c.get("system") == systems.ICD9CM and isinstance(c.get("code"), str)), None)
        method = next((m for m in ("sc", "vaginal") if code and code.startswith(tuple(rules[m]))), None)
        if not method:
            continue
        moment = parse_datetime(procedure.get("performedDateTime")
                                or as_dict(procedure.get("performedPeriod")).get("start") or entry.get("date"), zone)
        delivery = {"delivery_method": method, "delivery_dttm": eklaim_datetime(moment) if moment else ""}
        delivery.update({flag: "1" if code.startswith(tuple(rules[flag])) else "0"  # type: ignore[union-attr]
                         for flag in ("use_manual", "use_forcep", "use_vacuum")})
        found.append(delivery)
    found.sort(key=lambda d: d["delivery_dttm"])
    return [{"delivery_sequence": str(n), **d} for n, d in enumerate(found, 1)]


# --- small readers -------------------------------------------------------------------------------------------

def _observations(ctx: ClaimContext) -> list[dict[str, Any]]:
    return [o for o in ctx.observations.values()
            if isinstance(o, dict) and str(o.get("status")) not in _SKIPPED_STATUSES]


def _effective(observation: dict[str, Any], zone: str) -> float:
    """When it was measured, as a timestamp to sort by; one without a time sorts last."""
    text = observation.get("effectiveDateTime") or as_dict(observation.get("effectivePeriod")).get("start") \
        or observation.get("issued")
    moment = parse_datetime(text, zone)
    return moment.timestamp() if moment else math.inf


def _is_code(concept: Any, code: str) -> bool:
    return has_coding(concept, [{"system": systems.LOINC, "code": code}])


def _number(part: dict[str, Any]) -> Decimal | None:
    if "valueInteger" in part:
        return decimal(part["valueInteger"])
    return decimal(as_dict(part.get("valueQuantity")).get("value"))


def _other_insurance(claim: dict[str, Any]) -> list[dict[str, Any]]:
    focal = focal_insurance(claim)
    return [entry for index, entry in enumerate(claim.get("insurance") or [])
            if isinstance(entry, dict) and (focal is None or index != focal[0])]


def _diagnosis_codes(ctx: ClaimContext) -> list[str]:
    codes = []
    for entry in [e for e in as_list(ctx.claim.get("diagnosis")) if isinstance(e, dict)]:
        concept = entry.get("diagnosisCodeableConcept") or \
            as_dict(lookup(ctx.conditions, reference_of(entry.get("diagnosisReference")))).get("code")
        codes.extend(str(c.get("code", "")).strip().upper() for _, c in codings(concept)
                     if c.get("system") in (systems.ICD10, systems.ICD10_IM))
    return codes
