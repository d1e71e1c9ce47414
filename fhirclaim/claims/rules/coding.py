"""ICD coding rules of seed 004 and the INA-CBG grouper, table-driven where they are tables: combination codes,
neoplasm morphology, the order of delivery codes, external causes, sex- and age-specific codes, procedures that
need a supporting diagnosis or an inpatient stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.claims.fhirvalues import codings
from fhirclaim.claims.rules.base import Case, Finding, age_years, matches, precheck_table, principal

ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def combination_code(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """Two related conditions coded apart that ICD-10 codes as one (seed 004: N19 + I11.9 → I12.0)."""
    diagnoses, used = case.facts.diagnoses, set()
    for row in precheck_table("combination_codes")["pairs"]:
        parts = [next((d for d in diagnoses if matches(d.code, group) and d.code not in used), None)
                 for group in row["all_of"]]
        if all(parts):
            used.update(p.code for p in parts)  # type: ignore[union-attr]
            yield Finding(tuple(p.expression for p in parts),  # type: ignore[union-attr]
                          {"codes": " + ".join(p.code for p in parts), "use": row["use"],  # type: ignore[union-attr]
                           "why": row["why"], "why_id": row["why_id"]})


def neoplasm_morphology(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in case.facts.diagnoses:
        if matches(coded.code, params["categories"]) and not _has_morphology(case, coded.expression):
            yield Finding((coded.expression,), {"code": coded.code})


def delivery_complication_order(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """A complication of labour (O60–O75) is the principal diagnosis; O80/O81/O84 follow as secondaries."""
    first = principal(case.facts)
    if not (first and matches(first.code, params["delivery_modes"])):
        return
    complications = [d for d in case.facts.diagnoses[1:] if matches(d.code, params["complications"])]
    if complications:
        yield Finding((first.expression, *(c.expression for c in complications)),
                      {"code": first.code, "complication": complications[0].code})


def caesarean_o82_not_principal(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """Seed 004: with a caesarean section, O82 is always the principal diagnosis."""
    first = principal(case.facts)
    o82 = [d for d in case.facts.diagnoses[1:] if d.code.startswith("O82")]
    caesarean = any(matches(p.code, params["procedures"]) for p in case.facts.procedures)
    if caesarean and o82 and first and not first.code.startswith("O82"):
        yield Finding((first.expression, o82[0].expression), {"code": first.code, "o82": o82[0].code})


def external_cause_principal(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    first = principal(case.facts)
    if first and first.code[:1] in params["letters"]:
        yield Finding((first.expression,), {"code": first.code})


def sex_specific_code(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    gender = (case.ctx.patient or {}).get("gender")
    table = precheck_table("code_sex_age")["sex"]
    other = {"male": "female", "female": "male"}.get(gender or "")
    if other is None:
        return
    for coded in case.facts.diagnoses:
        if matches(coded.code, table[other]["diagnoses"]):
            yield Finding((coded.expression, "Patient.gender"), {"code": coded.code, "sex": other, "gender": gender})
    for coded in case.facts.procedures:
        if matches(coded.code, table[other]["procedures"]):
            yield Finding((coded.expression, "Patient.gender"), {"code": coded.code, "sex": other, "gender": gender})


def age_specific_code(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    years, days = age_years(case), case.facts.age_days_at_admission
    if years is None or days is None:
        return
    for coded in case.facts.diagnoses:
        for row in precheck_table("code_sex_age")["age"]:
            if matches(coded.code, row["prefix"]) and not _age_fits(row, years, days):
                yield Finding((coded.expression, "Patient.birthDate"),
                              {"code": coded.code, "age": years, "why": row["why"], "why_id": row["why_id"]})
                break


def procedure_without_diagnosis(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in case.facts.procedures:
        for row in precheck_table("procedure_support")["needs_diagnosis"]:
            if matches(coded.code, row["procedure"]) and not any(
                    matches(d.code, row["diagnosis"]) for d in case.facts.diagnoses):
                yield Finding((coded.expression, case.facts.where["diagnoses"]),
                              {"procedure": coded.code, "why": row["why"], "why_id": row["why_id"]})
                break


def inpatient_only_procedure(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.facts.jenis_rawat != "2":
        return
    table = precheck_table("procedure_support")["inpatient_only"]
    for coded in case.facts.procedures:
        if matches(coded.code, table["procedures"]):
            yield Finding((coded.expression, case.facts.where.get("jenis_rawat", "Encounter.class")),
                          {"procedure": coded.code})


def multi_day_outpatient(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """An outpatient claim ends on its first day; care over several days is an inpatient stay."""
    facts = case.facts
    if facts.jenis_rawat == "2" and facts.admission and facts.discharge \
            and (facts.discharge.date() - facts.admission.date()).days >= 1:
        yield Finding((facts.where["admission"], facts.where["discharge"], facts.where.get("jenis_rawat",
                                                                                          "Encounter.class")),
                      {"days": (facts.discharge.date() - facts.admission.date()).days + 1})


def _has_morphology(case: Case, expression: str) -> bool:
    """An ICD-O-3 coding beside the ICD-10 one in the same diagnosisCodeableConcept (or the Condition's code)."""
    index = int(expression.split("[", 2)[1].split("]", 1)[0])
    entries = [e for e in case.ctx.claim.get("diagnosis") or [] if isinstance(e, dict)]
    entry = entries[index] if index < len(entries) else {}
    concept = entry.get("diagnosisCodeableConcept")
    if concept is None:
        reference = (entry.get("diagnosisReference") or {}).get("reference")
        concept = (case.ctx.conditions.get(reference) or {}).get("code") if reference else None
    return any(c.get("system") == ICD_O_3 and c.get("code") for _, c in codings(concept))


def _age_fits(row: dict[str, Any], years: int, days: int) -> bool:
    if "max_days" in row and days > row["max_days"]:
        return False
    return row.get("min_years", 0) <= years <= row.get("max_years", 200)
