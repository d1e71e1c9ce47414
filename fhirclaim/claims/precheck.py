"""Pre-submission checks (architecture §9): the reasons E-Klaim refuses a claim or BPJS-K sends it back, found first.

Rules are a table of small functions, one per rule id. Each reads the claim's facts (`fhirclaim.claims.facts`) and
returns findings — the evidence (FHIRPath expressions) and the values its message needs; severity, issue type and
the Indonesian / English message templates come from `data/precheck_rules.json`. Rules that need the patient's
other claims (readmission, double claims) run only when the caller passes a `ClaimHistory`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from fhirclaim.claims import systems, tables
from fhirclaim.claims.context import ClaimContext, TenantClaimSettings, reference_of
from fhirclaim.claims.facts import ClaimFacts, Coded, read_facts
from fhirclaim.claims.mapping import NEW_CLAIM_FIELDS, SET_CLAIM_DATA_FIELDS
from fhirclaim.fhir.outcome import Issue
from fhirclaim.terminology import icd10


@dataclass(frozen=True)
class PastEpisode:
    """Another claim of the same patient, as the history rules need it."""

    nomor_sep: str
    jenis_rawat: str  # "1" inpatient (RITL), "2" outpatient (RJTL)
    admission: datetime  # aware
    discharge: datetime  # aware
    principal_diagnosis: str | None = None  # ICD-10, dotted


class ClaimHistory(Protocol):
    """The patient's other claims; implemented over the store by the pipeline."""

    def episodes(self, patient: str, *, start: datetime, end: datetime) -> Iterable[PastEpisode]:
        """Claims of `patient` (a Patient reference) whose stay touches [start, end], the current claim included
        or not (rules skip the claim's own SEP)."""
        ...


@dataclass(frozen=True)
class Finding:
    """One rule firing: where the evidence is and the values the message is filled with."""

    expression: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)


MAPPED_FIELDS = NEW_CLAIM_FIELDS + SET_CLAIM_DATA_FIELDS

Rule = Callable[[ClaimFacts, dict[str, Any]], Iterable[Finding]]
HistoryRule = Callable[[ClaimFacts, dict[str, Any], list[PastEpisode]], Iterable[Finding]]


def precheck(ctx: ClaimContext, history: ClaimHistory | None = None,
             settings: TenantClaimSettings | None = None, *, with_mapping: bool = False) -> list[Issue]:
    """Every finding of every rule, errors first; an empty list means the claim may go to E-Klaim.

    `with_mapping` adds what would stop the E-Klaim payloads themselves (`mapping.mapping_issues`: a missing
    card number, an unknown discharge code, ...) unless a rule already cites the same element, so one call tells
    the hospital everything before the first web-service call.
    """
    facts = read_facts(ctx, (settings or TenantClaimSettings()).timezone)
    issues = [issue for rule_id, rule in RULES.items() for issue in _run(rule_id, rule(facts, _params(rule_id)))]
    if with_mapping:
        cited = {expression for issue in issues for expression in issue.expression}
        issues.extend(i for i in facts.issues_for(MAPPED_FIELDS) if not cited.intersection(i.expression))
    patient = reference_of(ctx.claim.get("patient"))
    if history is not None and patient and facts.admission and facts.discharge:
        # From the readmission window before admission to the end of the discharge day (same-day visits).
        start = facts.admission - timedelta(days=_params("PRECHECK-READMISSION")["window_days"])
        end = datetime.combine(facts.discharge.date() + timedelta(days=1), time.min, facts.discharge.tzinfo)
        episodes = [e for e in history.episodes(patient, start=start, end=end) if e.nomor_sep != facts.nomor_sep]
        for rule_id, history_rule in HISTORY_RULES.items():
            issues.extend(_run(rule_id, history_rule(facts, _params(rule_id), episodes)))
    return sorted(issues, key=lambda issue: not issue.is_error)


def rule_ids() -> list[str]:
    return [*RULES, *HISTORY_RULES]


def _definition(rule_id: str) -> dict[str, Any]:
    return tables.data_table("precheck_rules")["rules"][rule_id]


def _params(rule_id: str) -> dict[str, Any]:
    return _definition(rule_id).get("params", {})


def _run(rule_id: str, findings: Iterable[Finding]) -> Iterator[Issue]:
    definition = _definition(rule_id)
    for finding in findings:
        values = {**definition.get("params", {}), **finding.values}
        text = f"{definition['id'].format(**values)} / {definition['en'].format(**values)}"
        if definition.get("anticipates"):
            text += f" (E-Klaim {definition['anticipates']})"
        yield Issue(definition["severity"], definition["issue_type"], text, finding.expression, rule_id,
                    systems.PRECHECK_RULE)


# --- data rules: what E-Klaim itself refuses -------------------------------------------------------------------

def sep_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.nomor_sep:
        yield Finding((facts.where["nomor_sep"],))


def coder_nik_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.coder_nik:
        yield Finding((facts.where["coder_nik"],))


def discharge_before_admission(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.admission and facts.discharge and facts.discharge < facts.admission:
        yield Finding((facts.where["admission"], facts.where["discharge"]),
                      {"admission": _shown(facts.admission), "discharge": _shown(facts.discharge)})


def icu_days_exceed_stay(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    los = facts.length_of_stay
    if facts.icu_days and los is not None and los >= 0 and facts.icu_days > los:
        yield Finding((facts.where["icu_days"], facts.where["admission"], facts.where["discharge"]),
                      {"icu_days": facts.icu_days, "los": los})


def upgrade_los_exceeds_stay(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    los = facts.length_of_stay
    if facts.upgrade_class_ind == "1" and facts.upgrade_class_los and los is not None and los >= 0 \
            and facts.upgrade_class_los > los:
        yield Finding((facts.where["upgrade_class_los"], facts.where["admission"], facts.where["discharge"]),
                      {"upgrade_los": facts.upgrade_class_los, "los": los})


def upgrade_from_class_3(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.inpatient and facts.upgrade_class_ind == "1" and facts.kelas_rawat == "3":
        yield Finding((facts.where["upgrade_class_ind"], facts.where.get("kelas_rawat", "Coverage.class")))


def tarif_below_minimum(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.tarif_rs is not None and facts.tarif_rs < params["minimum"]:
        yield Finding((facts.where["tarif_rs"],),
                      {"tarif": f"{int(facts.tarif_rs):,}", "minimum": f"{params['minimum']:,}"})


def adl_out_of_range(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for fact, kind in (("adl_sub_acute", "sub-acute"), ("adl_chronic", "chronic")):
        score = getattr(facts, fact)
        if score is not None and not params["low"] <= score <= params["high"]:
            yield Finding((facts.where[fact],), {"kind": kind, "score": score})


def icd10_invalid(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in facts.diagnoses:
        if not coded.valid:
            yield Finding((coded.expression,), {"code": coded.code})


def icd9cm_invalid(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in facts.procedures:
        if not coded.valid:
            yield Finding((coded.expression,), {"code": coded.code})


def newborn_without_birth_weight(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    age = facts.age_days_at_admission
    if age is not None and 0 <= age <= params["max_age_days"] and not facts.birth_weight:
        yield Finding((facts.where["birth_date"], facts.where["birth_weight"]),
                      {"age": age, "max_age": params["max_age_days"]})


def dpjp_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.dpjp_name:
        yield Finding((facts.where["dpjp"],))


# --- coding rules (architecture §9, seed 004) -------------------------------------------------------------------------

def asterisk_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal = _principal(facts)
    if principal and principal.valid and _call(icd10.is_asterisk, principal.code):
        yield Finding((principal.expression,), {"code": principal.code})


def symptom_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal = _principal(facts)
    if not (facts.inpatient and principal and principal.code[:1] in params["non_specific_letters"]):
        return
    ignored = set(params["non_specific_letters"]) | set(params["external_cause_letters"])
    specific = [c for c in facts.diagnoses[1:] if c.valid and c.code[:1] not in ignored]
    if specific:
        yield Finding((principal.expression, *(c.expression for c in specific)),
                      {"code": principal.code, "specific": ", ".join(c.code for c in specific)})


def perinatal_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal, age = _principal(facts), facts.age_days_at_admission
    if principal and principal.code.startswith("P") and age is not None and age >= params["max_age_days"]:
        yield Finding((principal.expression, facts.where["birth_date"]),
                      {"code": principal.code, "age": age, "max_age": params["max_age_days"]})


def healthy_newborn(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal = _principal(facts)
    if principal and principal.code in params["codes"]:
        yield Finding((principal.expression,), {"code": principal.code})


def caesarean_without_o82(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    caesareans = [p for p in facts.procedures if p.code in params["procedures"]]
    if caesareans and not any(d.code.startswith(params["diagnosis_category"]) for d in facts.diagnoses):
        yield Finding(tuple(p.expression for p in caesareans) + (facts.where["diagnoses"],),
                      {"procedure": ", ".join(p.code for p in caesareans)})


def injury_without_external_cause(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if any(d.code[:1] in params["external_cause_letters"] for d in facts.diagnoses):
        return
    for coded in facts.diagnoses:
        if coded.code[:1] in params["injury_letters"]:
            yield Finding((coded.expression,), {"code": coded.code})


# --- history rules: the patient's other claims (readmission, double claims) ----------------------------------

def readmission(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    principal = _principal(facts)
    if not (facts.inpatient and principal and facts.admission):
        return
    for episode in episodes:
        gap = (facts.admission.date() - episode.discharge.date()).days
        same = (episode.principal_diagnosis or "")[:3] == principal.code[:3]
        if episode.jenis_rawat == "1" and same and 0 <= gap <= params["window_days"]:
            yield Finding((principal.expression,),
                          {"days": gap, "other_sep": episode.nomor_sep, "category": principal.code[:3]})


def double_inpatient(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    if not (facts.inpatient and facts.admission and facts.discharge):
        return
    for episode in episodes:
        if episode.jenis_rawat == "1" and _overlap(facts.admission, facts.discharge, episode):
            yield Finding((facts.where["admission"],),
                          {"other_sep": episode.nomor_sep, "other_period": _period(episode)})


def outpatient_in_inpatient(facts: ClaimFacts, params: dict[str, Any],
                            episodes: list[PastEpisode]) -> Iterator[Finding]:
    """An outpatient visit from the admission day up to (not including) the discharge day belongs to the stay."""
    if not (facts.admission and facts.discharge and facts.jenis_rawat):
        return
    this = PastEpisode(facts.nomor_sep or "-", facts.jenis_rawat, facts.admission, facts.discharge)
    for episode in episodes:
        inpatient, outpatient = (this, episode) if facts.inpatient else (episode, this)
        if inpatient.jenis_rawat == "1" and outpatient.jenis_rawat == "2" \
                and inpatient.admission.date() <= outpatient.admission.date() < inpatient.discharge.date():
            yield Finding((facts.where["admission"],),
                          {"visit": outpatient.admission.date().isoformat(), "outpatient_sep": outpatient.nomor_sep,
                           "inpatient_sep": inpatient.nomor_sep, "inpatient_period": _period(inpatient)})


def double_outpatient(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    if facts.jenis_rawat != "2" or not facts.admission:
        return
    for episode in episodes:
        if episode.jenis_rawat == "2" and episode.admission.date() == facts.admission.date():
            yield Finding((facts.where["admission"],),
                          {"visit": facts.admission.date().isoformat(), "other_sep": episode.nomor_sep})


RULES: dict[str, Rule] = {
    "PRECHECK-SEP-MISSING": sep_missing,
    "PRECHECK-CODER-NIK": coder_nik_missing,
    "PRECHECK-DISCHARGE-BEFORE-ADMISSION": discharge_before_admission,
    "PRECHECK-ICU-DAYS": icu_days_exceed_stay,
    "PRECHECK-UPGRADE-LOS": upgrade_los_exceeds_stay,
    "PRECHECK-UPGRADE-FROM-CLASS-3": upgrade_from_class_3,
    "PRECHECK-TARIF-MINIMUM": tarif_below_minimum,
    "PRECHECK-ADL-RANGE": adl_out_of_range,
    "PRECHECK-ICD10-INVALID": icd10_invalid,
    "PRECHECK-ICD9CM-INVALID": icd9cm_invalid,
    "PRECHECK-NEWBORN-BIRTH-WEIGHT": newborn_without_birth_weight,
    "PRECHECK-DPJP-MISSING": dpjp_missing,
    "PRECHECK-ASTERISK-PRINCIPAL": asterisk_principal,
    "PRECHECK-SYMPTOM-PRINCIPAL": symptom_principal,
    "PRECHECK-PERINATAL-PRINCIPAL": perinatal_principal,
    "PRECHECK-HEALTHY-NEWBORN": healthy_newborn,
    "PRECHECK-CAESAREAN-WITHOUT-O82": caesarean_without_o82,
    "PRECHECK-INJURY-EXTERNAL-CAUSE": injury_without_external_cause,
}

HISTORY_RULES: dict[str, HistoryRule] = {
    "PRECHECK-READMISSION": readmission,
    "PRECHECK-DOUBLE-RITL-RITL": double_inpatient,
    "PRECHECK-DOUBLE-RJTL-RITL": outpatient_in_inpatient,
    "PRECHECK-DOUBLE-RJTL-RJTL": double_outpatient,
}


def _principal(facts: ClaimFacts) -> Coded | None:
    return facts.diagnoses[0] if facts.diagnoses else None


def _call(check: Callable[[str], Any], code: str) -> bool:
    try:
        return bool(check(code))
    except (ValueError, KeyError):
        return False


def _overlap(start: datetime, end: datetime, episode: PastEpisode) -> bool:
    """Two stays overlap when each starts before the other ends (a transfer on the discharge day does not)."""
    return start.date() < episode.discharge.date() and episode.admission.date() < end.date()


def _period(episode: PastEpisode) -> str:
    return f"{_shown(episode.admission)} – {_shown(episode.discharge)}"


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
