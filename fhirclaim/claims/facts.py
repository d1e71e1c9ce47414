"""The facts E-Klaim needs, read once from a `ClaimContext`: values, where each came from, and what is missing.

Mapping formats these facts as E-Klaim fields and refuses when a needed one is missing; prechecks judge them and
cite `where` as evidence. Each problem names the E-Klaim field it blocks, so `new_claim` is not refused for want
of a discharge date and `set_claim_data` not for want of a patient's gender.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.claim_context import ClaimContext, focal_insurance, lookup, reference_of
from fhirclaim.claims.fhirvalues import (
    as_list,
    codings,
    decimal,
    has_coding,
    human_name,
    parse_date,
    parse_datetime,
)
from fhirclaim.claims.payors import needs_generated_claim_number
from fhirclaim.claims.supporting import SupportingInfo, read_supporting_info
from fhirclaim.fhir.outcome import Issue, error
from fhirclaim.terminology import icd9cm, icd10


@dataclass(frozen=True)
class Coded:
    """A diagnosis or procedure code as E-Klaim will get it."""

    code: str  # normalised (dotted) when the code list knows it, else as sent
    valid: bool
    principal: bool
    expression: str


@dataclass(frozen=True)
class Problem:
    fields: tuple[str, ...]  # the E-Klaim fields it blocks
    issue: Issue


@dataclass
class ClaimFacts:
    nomor_sep: str | None = None
    number_generated: bool = False  # no SEP, none needed: E-Klaim 5.10's generate_claim_number numbers it (or did)
    nomor_kartu: str | None = None
    nomor_rm: str | None = None
    nama_pasien: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    admission: datetime | None = None  # aware, in the hospital's zone
    discharge: datetime | None = None
    jenis_rawat: str | None = None
    kelas_rawat: str | None = None
    diagnoses: tuple[Coded, ...] = ()  # principal first
    procedures: tuple[Coded, ...] = ()
    tarif_rs: Decimal | None = None
    discharge_status: str | None = None
    dpjp_name: str | None = None
    coder_nik: str | None = None
    icu_days: Decimal | None = None
    ventilator_hours: Decimal | None = None
    adl_sub_acute: Decimal | None = None
    adl_chronic: Decimal | None = None
    birth_weight: Decimal | None = None
    upgrade_class_ind: str | None = None
    upgrade_class_class: str | None = None
    upgrade_class_los: Decimal | None = None
    add_payment_pct: Decimal | None = None
    executive: bool = False
    tarif_poli_eks: Decimal | None = None
    special_cmg: tuple[str, ...] = ()
    where: dict[str, str] = field(default_factory=dict)  # fact -> FHIRPath it was (or would be) read from
    problems: list[Problem] = field(default_factory=list)

    @property
    def inpatient(self) -> bool:
        return self.jenis_rawat == "1"

    @property
    def length_of_stay(self) -> int | None:
        """Days between admission and discharge dates; an inpatient same-day stay counts as one day."""
        if not (self.admission and self.discharge):
            return None
        days = (self.discharge.date() - self.admission.date()).days
        return max(days, 1) if self.inpatient and days >= 0 else days

    @property
    def age_days_at_admission(self) -> int | None:
        if not (self.birth_date and self.admission):
            return None
        return (self.admission.date() - self.birth_date).days

    def issues_for(self, eklaim_fields: tuple[str, ...]) -> list[Issue]:
        wanted = set(eklaim_fields)
        return list(dict.fromkeys(p.issue for p in self.problems if wanted.intersection(p.fields)))


def read_facts(ctx: ClaimContext, zone: str) -> ClaimFacts:
    """Everything E-Klaim needs from the claim's resources, read in the hospital's time zone `zone`: once per
    context (`ClaimContext.facts_read`; the facts are read, never changed, by those who ask)."""
    facts = ctx.facts_read.get(zone)
    if facts is None:
        reader = _Reader(ctx, zone)
        reader.read()
        facts = ctx.facts_read[zone] = reader.facts
    return facts


def _mapping() -> dict[str, Any]:
    return code_tables.data_table("eklaim_mapping")


class _Reader:
    def __init__(self, ctx: ClaimContext, zone: str) -> None:
        self.ctx, self.zone = ctx, zone
        self.claim = ctx.claim
        self.facts = ClaimFacts()
        self.info: SupportingInfo = read_supporting_info(ctx.claim)

    def read(self) -> None:
        for step in (self.sep, self.coverage, self.patient, self.period, self.care_type, self.diagnoses,
                     self.procedures, self.tariff, self.discharge_status, self.dpjp, self.coder,
                     self.supporting, self.care_class):
            step()

    def miss(self, fields: str | tuple[str, ...], code: str, text: str, *expression: str) -> None:
        fields = (fields,) if isinstance(fields, str) else fields
        self.facts.problems.append(Problem(fields, error(code, text, *expression)))

    # --- identifiers -------------------------------------------------------------------------------------
    def sep(self) -> None:
        value, where = nomor_sep_of(self.claim)
        self.facts.nomor_sep, self.facts.where["nomor_sep"] = value, where
        self.facts.number_generated = any(  # E-Klaim's number (generate_claim_number), given or yet to come
            i.get("system") == systems.EKLAIM_CLAIM_NUMBER and i.get("value") == value
            for i in self.claim.get("identifier") or [] if isinstance(i, dict)) if value else (
            needs_generated_claim_number(self.ctx))
        if not value and not self.facts.number_generated:
            self.miss(("nomor_sep",), "required",
                      "No SEP number: E-Klaim keys every claim by its SEP number (nomor_sep). Send it as "
                      "Claim.insurance.identifier with system http://sys-ids.kemkes.go.id/claim-number/{org}.", where)

    def coverage(self) -> None:
        insurance = focal_insurance(self.claim)
        at = f"Claim.insurance[{insurance[0]}].coverage" if insurance else "Claim.insurance"
        coverage = self.ctx.coverage
        if coverage is None:
            self.miss(("nomor_kartu", "kelas_rawat"), "required",
                      "The Claim's Coverage is missing or cannot be resolved: E-Klaim needs the JKN card number "
                      "(nomor_kartu) and the treatment class (kelas_rawat) from it.", at)
            return
        card = coverage.get("subscriberId")
        self.facts.where["nomor_kartu"] = "Coverage.subscriberId"
        if not (isinstance(card, str) and card.strip()):
            card = next((i.get("value") for i in coverage.get("identifier") or []
                         if systems.CARD_SYSTEM.match(str(i.get("system", "")))), None)
        if isinstance(card, str) and card.strip():
            self.facts.nomor_kartu = card.strip()
        else:
            self.miss("nomor_kartu", "required",
                      "No JKN card number: E-Klaim registers the patient by it (nomor_kartu). Send "
                      "Coverage.subscriberId or an identifier of system "
                      "https://sys-ids.kemkes.go.id/insurance-subscriber/{org}.", "Coverage.subscriberId")

    def patient(self) -> None:
        patient = self.ctx.patient
        fields = ("nomor_rm", "nama_pasien", "tgl_lahir", "gender")
        if patient is None:
            self.miss(fields, "required", "The Claim's Patient is missing or cannot be resolved: E-Klaim's "
                      "new_claim registers the patient (nomor_rm, nama_pasien, tgl_lahir, gender).", "Claim.patient")
            return
        self._medical_record(patient)
        self.facts.nama_pasien = human_name(patient.get("name"))
        if not self.facts.nama_pasien:
            self.miss("nama_pasien", "required", "The Patient has no name: E-Klaim's new_claim needs nama_pasien.",
                      "Patient.name")
        self.facts.birth_date = parse_date(patient.get("birthDate"))
        self.facts.where["birth_date"] = "Patient.birthDate"
        if not self.facts.birth_date:
            self.miss("tgl_lahir", "required", "The Patient has no full birth date: E-Klaim needs tgl_lahir for "
                      "the patient's age, which the grouper uses (X-0-20-X).", "Patient.birthDate")
        self.facts.gender = _mapping()["gender"].get(patient.get("gender"))
        if not self.facts.gender:
            self.miss("gender", "value", f"Patient.gender is {patient.get('gender')!r}: E-Klaim knows only 1 "
                      "(male) and 2 (female), and the grouper checks sex against the coding.", "Patient.gender")

    def _medical_record(self, patient: dict[str, Any]) -> None:
        for index, identifier in enumerate(patient.get("identifier") or []):
            mr_type = has_coding(identifier.get("type"), [{"system": systems.V2_IDENTIFIER_TYPE, "code": "MR"}])
            if (mr_type or systems.MR_SYSTEM.match(str(identifier.get("system", "")))) and identifier.get("value"):
                self.facts.nomor_rm = str(identifier["value"]).strip()
                self.facts.where["nomor_rm"] = f"Patient.identifier[{index}]"
                return
        self.miss("nomor_rm", "required", "The Patient has no medical-record number: E-Klaim files the claim "
                  "under nomor_rm. Send an identifier with type MR (http://terminology.hl7.org/CodeSystem/v2-0203) "
                  "or system http://sys-ids.kemkes.go.id/mr/{org}.", "Patient.identifier")

    # --- the stay ---------------------------------------------------------------------------------------------
    def period(self) -> None:
        for edge, fact, eklaim, group in (("start", "admission", "tgl_masuk", "X-0-17-X"),
                                          ("end", "discharge", "tgl_pulang", "X-0-19-X")):
            text, where = self._period_edge(edge)
            self.facts.where[fact] = where
            moment = parse_datetime(text, self.zone)
            setattr(self.facts, fact, moment)
            if text is None:
                self.miss(eklaim, "required", f"No {'admission' if edge == 'start' else 'discharge'} time: "
                          f"E-Klaim needs {eklaim} (from Encounter.period.{edge}, else Claim.billablePeriod."
                          f"{edge}); the grouper fails without it ({group}).", where)
            elif moment is None:
                self.miss(eklaim, "value", f"{text!r} is not a dateTime with a day: E-Klaim needs {eklaim} as "
                          "a full date and time.", where)

    def _period_edge(self, edge: str) -> tuple[Any, str]:
        encounter_period = (self.ctx.encounter or {}).get("period") or {}
        if encounter_period.get(edge) is not None:
            return encounter_period[edge], f"Encounter.period.{edge}"
        billable = self.claim.get("billablePeriod") or {}
        if billable.get(edge) is not None:
            return billable[edge], f"Claim.billablePeriod.{edge}"
        return None, f"Encounter.period.{edge}"

    def care_type(self) -> None:
        encounter = self.ctx.encounter
        if encounter is None:
            self.miss(("jenis_rawat", "kelas_rawat"), "required",
                      "The Claim's Encounter is missing or cannot be resolved: E-Klaim needs jenis_rawat "
                      "(inpatient or outpatient) from Encounter.class. Name the Encounter in Claim.supportingInfo "
                      "(category encounter) or Claim.item.encounter.", "Claim.supportingInfo")
            return
        table = _mapping()["jenis_rawat"]
        klass = encounter.get("class")
        concepts = klass if isinstance(klass, list) else [klass]
        for concept in concepts:
            for _, coding in codings(concept):
                if coding.get("system") in (None, table["system"]) and coding.get("code") in table["codes"]:
                    self.facts.jenis_rawat = table["codes"][coding["code"]]
                    self.facts.where["jenis_rawat"] = "Encounter.class"
                    return
        self.miss(("jenis_rawat", "kelas_rawat"), "code-invalid",
                  "Encounter.class must be IMP, ACUTE or NONAC (inpatient) or AMB or EMER (outpatient): E-Klaim "
                  "groups inpatient and outpatient care differently (jenis_rawat).", "Encounter.class")

    def care_class(self) -> None:
        if self.facts.jenis_rawat is None:
            return
        if not self.facts.inpatient:
            self.facts.kelas_rawat = "1" if self.facts.executive else "3"
            self.facts.where["kelas_rawat"] = self.info.where("executive-clinic") if self.facts.executive \
                else "Encounter.class"
            return
        for index, klass in enumerate((self.ctx.coverage or {}).get("class") or []):
            if has_coding(klass.get("type"), [{"code": "class"}]):
                found = re.search(r"[123]", str(klass.get("value", "")))
                self.facts.where["kelas_rawat"] = f"Coverage.class[{index}].value"
                if found:
                    self.facts.kelas_rawat = found.group(0)
                    return
        if self.ctx.coverage is not None:
            self.miss("kelas_rawat", "required",
                      "No treatment class: an inpatient claim needs kelas_rawat (1, 2 or 3) from the Coverage.class "
                      "of type 'class' (http://terminology.hl7.org/CodeSystem/coverage-class).", "Coverage.class")

    # --- coding ----------------------------------------------------------------------------------------------
    def diagnoses(self) -> None:
        found = self._coded("diagnosis", systems.ICD10, icd10, self.ctx.conditions)
        found.sort(key=lambda c: not c.principal)  # stable: principal first, then by sequence
        unique = {c.code: c for c in reversed(found)}  # first occurrence wins
        self.facts.diagnoses = tuple(c for c in found if unique[c.code] is c)
        self.facts.where["diagnoses"] = "Claim.diagnosis"
        if not found:
            self.miss("diagnosa", "required", "No ICD-10 diagnosis: E-Klaim groups the claim on its principal "
                      "diagnosis (diagnosa); the grouper fails without one (X-0-03-X).", "Claim.diagnosis")

    def procedures(self) -> None:
        self.facts.procedures = tuple(self._coded("procedure", systems.ICD9CM, icd9cm, self.ctx.procedures))
        self.facts.where["procedures"] = "Claim.procedure"

    def _coded(self, element: str, system: str, code_list: Any, targets: Any) -> list[Coded]:
        entries = [e for e in self.claim.get(element) or [] if isinstance(e, dict)]
        ordered = sorted(enumerate(entries), key=lambda pair: (sequence_key(pair[1]), pair[0]))
        found: list[Coded] = []
        for index, entry in ordered:
            principal = element == "diagnosis" and is_principal(entry)
            coded = self._code_of(element, index, entry, system, code_list, targets, principal)
            if coded:
                found.append(coded)
        return found

    def _code_of(self, element: str, index: int, entry: dict[str, Any], system: str, code_list: Any,
                 targets: Any, principal: bool) -> Coded | None:
        kind = "Condition" if element == "diagnosis" else "Procedure"
        concept_key = f"{element}CodeableConcept"
        concept, at = entry.get(concept_key), f"Claim.{element}[{index}].{concept_key}"
        if concept is None and reference_of(entry.get(f"{element}Reference")):
            target = lookup(targets, reference_of(entry.get(f"{element}Reference")))
            concept, at = (target or {}).get("code"), f"Claim.{element}[{index}].{element}Reference"
        for position, coding in codings(concept):
            if coding.get("system") == system and isinstance(coding.get("code"), str) and coding["code"].strip():
                raw = coding["code"].strip().upper()
                valid = _is_valid(code_list, raw)
                code = _normalize(code_list, raw) if valid else raw
                where = f"{at}.coding[{position}].code" if concept_key in at else at
                return Coded(code, valid, principal, where)
        field_name = "diagnosa" if element == "diagnosis" else "procedure"
        self.miss(field_name, "code-invalid",
                  f"Claim.{element}[{index}] has no {'ICD-10' if element == 'diagnosis' else 'ICD-9-CM'} coding "
                  f"(system {system}) in {concept_key} or a resolvable {kind}: E-Klaim takes only those codes "
                  f"({field_name}).", f"Claim.{element}[{index}]")
        return None

    # --- money, discharge, people ----------------------------------------------------------------------------
    def tariff(self) -> None:
        money, where = self.claim.get("total"), "Claim.total"
        if not isinstance(money, dict) and isinstance((self.ctx.invoice or {}).get("totalGross"), dict):
            money, where = self.ctx.invoice["totalGross"], "Invoice.totalGross"  # type: ignore[index]
        self.facts.where["tarif_rs"] = where
        if not isinstance(money, dict):
            self.miss("tarif_rs", "required", "No hospital tariff: E-Klaim needs tarif_rs from Claim.total (or "
                      "Invoice.totalGross); the grouper fails without it (X-0-94-X).", "Claim.total")
            return
        amount = decimal(money.get("value"))
        if money.get("currency") not in (None, "IDR"):
            self.miss("tarif_rs", "value", f"{where} is in {money.get('currency')}: E-Klaim takes tarif_rs in "
                      "rupiah (IDR).", f"{where}.currency")
        elif amount is None or amount < 0:
            self.miss("tarif_rs", "value", f"{where}.value must be a non-negative amount in rupiah (tarif_rs).",
                      f"{where}.value")
        else:
            self.facts.tarif_rs = amount

    def discharge_status(self) -> None:
        table = _mapping()["discharge_status"]
        where = "Encounter.hospitalization.dischargeDisposition"
        self.facts.where["discharge_status"] = where
        disposition = ((self.ctx.encounter or {}).get("hospitalization") or {}).get("dischargeDisposition")
        for _, coding in codings(disposition):
            if coding.get("system") in (None, table["system"]) and coding.get("code") in table["codes"]:
                self.facts.discharge_status = table["codes"][coding["code"]]
                return
        if disposition is None and self.facts.jenis_rawat == "2":
            self.facts.discharge_status = table["outpatient_default"]  # an outpatient goes home
        elif disposition is not None or self.facts.jenis_rawat == "1":  # unknown care type is reported already
            self.miss("discharge_status", "required" if disposition is None else "code-invalid",
                      "An inpatient claim needs the discharge disposition (home, other-hcf, aadvice, exp, oth of "
                      "http://terminology.hl7.org/CodeSystem/discharge-disposition): E-Klaim's discharge_status "
                      "(cara pulang) is part of the grouping (X-0-06-X).", where)

    def dpjp(self) -> None:
        roles = _mapping()["dpjp_roles"]["codings"]
        for index, member in enumerate(self.claim.get("careTeam") or []):
            if has_coding(member.get("role"), roles):
                self.facts.where["dpjp"] = f"Claim.careTeam[{index}].provider"
                self.facts.dpjp_name = self._person_name(member.get("provider"))
                if self.facts.dpjp_name:
                    return
        attending = _mapping()["attending_participant_types"]["codings"]
        for index, participant in enumerate((self.ctx.encounter or {}).get("participant") or []):
            if any(has_coding(t, attending) for t in participant.get("type") or []):
                self.facts.dpjp_name = self._person_name(participant.get("individual"))
                if self.facts.dpjp_name:
                    self.facts.where["dpjp"] = f"Encounter.participant[{index}].individual"
                    return
        self.facts.where.setdefault("dpjp", "Claim.careTeam")
        self.miss("nama_dokter", "required",
                  "No DPJP (doctor in charge): E-Klaim records nama_dokter, and BPJS-K returns claims without it. "
                  "Name the doctor in Claim.careTeam with role 'primary' "
                  "(http://terminology.hl7.org/CodeSystem/claimcareteamrole), as a resolvable Practitioner.",
                  self.facts.where["dpjp"])

    def _person_name(self, reference: Any) -> str | None:
        practitioner = self.ctx.practitioner(reference_of(reference))
        name = human_name((practitioner or {}).get("name"))
        if name:
            return name
        display = reference.get("display") if isinstance(reference, dict) else None
        return display.strip() if isinstance(display, str) and display.strip() else None

    def coder(self) -> None:
        self.facts.coder_nik = coder_nik_of(self.ctx)
        self.facts.where["coder_nik"] = "Claim.enterer"
        if not self.facts.coder_nik:
            self.miss("coder_nik", "required",
                      "No coder NIK: E-Klaim refuses set_claim_data without coder_nik (E2005). Send "
                      "Claim.enterer.identifier with system https://fhir.kemkes.go.id/id/nik, or reference a "
                      "Practitioner carrying that identifier.", "Claim.enterer")

    # --- supportingInfo ----------------------------------------------------------------------------------------
    def supporting(self) -> None:
        info, facts = self.info, self.facts
        for fact, category in (("icu_days", "icu-days"), ("ventilator_hours", "ventilator-hours"),
                               ("adl_sub_acute", "adl-sub-acute"), ("adl_chronic", "adl-chronic"),
                               ("birth_weight", "birth-weight"), ("upgrade_class_los", "upgrade-class-los"),
                               ("add_payment_pct", "add-payment-pct"),
                               ("tarif_poli_eks", "executive-clinic-tariff")):
            setattr(facts, fact, info.number(category))
            facts.where[fact] = info.where(category)
        facts.executive = info.flag("executive-clinic") or bool(facts.tarif_poli_eks)
        facts.special_cmg = tuple(info.choices("special-cmg"))
        self._upgrade()
        for issue in info.issues:
            self.facts.problems.append(Problem(_SUPPORTING_FIELDS, issue))

    def _upgrade(self) -> None:
        info, facts, table = self.info, self.facts, _mapping()
        indicator = info.choice("upgrade-class-indicator", systems.KEMKES_UPGRADE_INDICATOR)
        target = info.choice("upgrade-class-class")
        facts.where["upgrade_class_ind"] = info.where("upgrade-class-indicator")
        facts.where["upgrade_class_class"] = info.where("upgrade-class-class")
        facts.upgrade_class_ind = table["upgrade_class_indicator"]["codes"].get(indicator or "")
        if indicator and facts.upgrade_class_ind is None:
            self.miss("upgrade_class_ind", "code-invalid", f"Upgrade indicator {indicator!r} is not one of "
                      "no-upgrade, upgrade (http://terminology.kemkes.go.id/CodeSystem/upgradeClassIndicator).",
                      facts.where["upgrade_class_ind"])
        if indicator is None and target:
            facts.upgrade_class_ind = "1"  # naming a target class says there is an upgrade
        if facts.upgrade_class_ind != "1":
            return
        facts.upgrade_class_class = table["upgrade_class_class"]["codes"].get((target or "").lower())
        if facts.upgrade_class_class is None:
            self.miss("upgrade_class_class", "required" if not target else "code-invalid",
                      "A class upgrade needs its target class (upgrade-class-class: kelas_1, kelas_2 or vip): "
                      "E-Klaim takes upgrade_class_ind, _class, _los and add_payment_pct together.",
                      facts.where["upgrade_class_class"])
        if facts.upgrade_class_los is None:
            self.miss("upgrade_class_los", "required",
                      "A class upgrade needs the days spent in the upgraded class (upgrade-class-los): E-Klaim takes "
                      "upgrade_class_ind, _class, _los and add_payment_pct together.", "Claim.supportingInfo")
        if facts.upgrade_class_class == "vip" and facts.add_payment_pct is None:
            self.miss("add_payment_pct", "required",
                      "An upgrade above class 1 needs the additional payment percentage (add-payment-pct): E-Klaim "
                      "computes the patient's share from it.", "Claim.supportingInfo")


_SUPPORTING_FIELDS = ("icu_indikator", "icu_los", "ventilator_hour", "adl_sub_acute", "adl_chronic", "birth_weight",
                      "upgrade_class_los", "add_payment_pct", "tarif_poli_eks", "kelas_rawat")


def nomor_sep_of(claim: dict[str, Any]) -> tuple[str | None, str]:
    """The SEP number and where it was found (or where it belongs when absent)."""
    insurance = focal_insurance(claim)
    if insurance:
        index, entry = insurance
        identifier = entry.get("identifier") or {}
        system = str(identifier.get("system") or "")
        if identifier.get("value") and (not system or systems.SEP_SYSTEM.match(system)):
            return str(identifier["value"]).strip(), f"Claim.insurance[{index}].identifier.value"
    for index, identifier in enumerate(claim.get("identifier") or []):
        system = str(identifier.get("system", ""))
        if (systems.SEP_SYSTEM.match(system) or system == systems.EKLAIM_CLAIM_NUMBER) and identifier.get("value"):
            return str(identifier["value"]).strip(), f"Claim.identifier[{index}].value"
    where = f"Claim.insurance[{insurance[0]}].identifier.value" if insurance else "Claim.insurance"
    return None, where


def coder_nik_of(ctx: ClaimContext) -> str | None:
    enterer = ctx.claim.get("enterer") or {}
    identifier = enterer.get("identifier") or {}
    if identifier.get("system") == systems.NIK_SYSTEM and identifier.get("value"):
        return str(identifier["value"]).strip()
    practitioner = ctx.practitioner(reference_of(enterer)) or {}
    for identifier in practitioner.get("identifier") or []:
        if identifier.get("system") == systems.NIK_SYSTEM and identifier.get("value"):
            return str(identifier["value"]).strip()
    return None


def sequence_key(entry: dict[str, Any]) -> float:
    """Sort key of a Claim.diagnosis / procedure entry: its sequence, entries without one last."""
    sequence = entry.get("sequence")
    return float(sequence) if isinstance(sequence, int) and not isinstance(sequence, bool) else float("inf")


def is_principal(entry: dict[str, Any]) -> bool:
    """Is this Claim.diagnosis entry of type principal (any of its types)?"""
    return has_coding(_types(entry), [{"system": systems.DIAGNOSIS_TYPE, "code": "principal"}])


def _types(entry: dict[str, Any]) -> dict[str, Any]:
    return {"coding": [c for t in as_list(entry.get("type")) for _, c in codings(t)]}


def _is_valid(code_list: Any, code: str) -> bool:
    try:
        return bool(code_list.is_valid(code))
    except (ValueError, KeyError):
        return False


def _normalize(code_list: Any, code: str) -> str:
    try:
        return str(code_list.normalize(code))
    except (ValueError, KeyError):
        return code
