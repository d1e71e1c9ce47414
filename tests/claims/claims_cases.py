"""Whole claim cases as a hospital would send them: an inpatient stay and an executive-clinic outpatient visit.

Built on the SATUSEHAT Claim and Coverage shapes (tests/fixtures/satusehat/examples-derived), completed with the
Patient, Encounter and Practitioners the claim rests on.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from satusehat_examples import CARD, NIK_CODER, ORG_RS, SEP, example

from fhirclaim.claims.mapping import ClaimContext

OWN = "https://fhirclaim.org/fhir/CodeSystem/claim-information-category"
KEMKES = "http://terminology.kemkes.go.id/CodeSystem/claiminformationcategory"
UCUM = "http://unitsofmeasure.org"


def info(sequence: int, category: str, system: str = OWN, **value: Any) -> dict[str, Any]:
    return {"sequence": sequence, "category": {"coding": [{"system": system, "code": category}]}, **value}


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def icd10(sequence: int, code: str, *types: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"sequence": sequence, "diagnosisCodeableConcept": {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]}}
    if types:
        entry["type"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": t}]}
                         for t in types]
    return entry


def icd9(sequence: int, code: str) -> dict[str, Any]:
    return {"sequence": sequence, "procedureCodeableConcept": {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": code}]}}


def patient(**changes: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Patient", "id": "pat-1",
        "identifier": [
            {"system": "https://fhir.kemkes.go.id/id/nik", "value": "3171015402800003"},  # 540280: a woman, 14-02-80
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "system": f"http://sys-ids.kemkes.go.id/mr/{ORG_RS}", "value": "RM-00123"},
        ],
        "name": [{"use": "usual", "text": "Bu Siti"}, {"use": "official", "given": ["SITI"], "family": "AMINAH"}],
        "gender": "female",
        "birthDate": "1980-02-14",
    }
    resource.update(changes)
    return resource


def practitioners() -> dict[str, dict[str, Any]]:
    return {
        "Practitioner/prac-dpjp": {"resourceType": "Practitioner", "id": "prac-dpjp",
                                   "name": [{"use": "official", "text": "dr. Rudy Hartono, Sp.OT"}]},
        "Practitioner/prac-coder": {"resourceType": "Practitioner", "id": "prac-coder",
                                    "identifier": [{"system": "https://fhir.kemkes.go.id/id/nik", "value": NIK_CODER}],
                                    "name": [{"given": ["Ani"], "family": "Koder"}]},
    }


def inpatient_claim() -> dict[str, Any]:
    claim = example("reactclient_claim-bpjs")
    claim["id"] = "claim-1"
    claim["careTeam"] = [{"sequence": 1, "provider": {"reference": "Practitioner/prac-dpjp"},
                          "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claimcareteamrole",
                                               "code": "primary"}]}}]
    claim["diagnosis"] = [icd10(2, "W19", "discharge"), icd10(1, "S72.0", "principal"), icd10(3, "i10")]
    claim["procedure"] = [icd9(2, "8838"), icd9(1, "81.51")]
    claim["supportingInfo"] += [info(5, "icu-days", **quantity(2, "d")),
                                info(6, "ventilator-hours", **quantity(5, "h"))]
    del claim["extension"]  # not grouped yet
    return claim


def inpatient_encounter() -> dict[str, Any]:
    return {
        "resourceType": "Encounter", "id": "enc-1", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "Patient/pat-1"},
        "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                               "code": "ATND"}]}],
                         "individual": {"reference": "Practitioner/prac-dpjp"}}],
        "period": {"start": "2024-05-01T01:30:00Z", "end": "2024-05-06T10:15:00+07:00"},
        "hospitalization": {"dischargeDisposition": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}]}},
    }


def inpatient_case(**changes: Any) -> ClaimContext:
    """A five-day stay for a femoral neck fracture, class 2, two ICU days: clean, every precheck quiet."""
    context = {
        "claim": inpatient_claim(), "patient": patient(), "encounter": inpatient_encounter(),
        "coverage": example("khanza_coverage-bpjs.contained"), "practitioners": practitioners(),
    }
    context.update(changes)
    return ClaimContext(**context)


def outpatient_case(**changes: Any) -> ClaimContext:
    """An executive-clinic visit: no procedure, DPJP recorded on the Encounter, coder named by NIK only."""
    claim = example("reactclient_claim-bpjs")
    claim["id"] = "claim-2"
    claim["enterer"] = {"identifier": {"system": "https://fhir.kemkes.go.id/id/nik", "value": NIK_CODER}}
    claim["diagnosis"] = [icd10(1, "J06.9")]
    claim["procedure"] = []
    claim["total"] = {"value": 250000.4, "currency": "IDR"}
    claim["supportingInfo"] += [info(5, "executive-clinic", valueBoolean=True),
                                info(6, "executive-clinic-tariff",
                                     valueQuantity={"value": 150000, "system": "urn:iso:std:iso:4217", "code": "IDR"})]
    del claim["extension"]
    encounter = inpatient_encounter()
    encounter["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}
    encounter["period"] = {"start": "2024-05-07T09:00:00+08:00", "end": "2024-05-07T03:30:00Z"}
    del encounter["hospitalization"]
    context = {
        "claim": claim, "patient": patient(), "encounter": encounter,
        "coverage": example("khanza_coverage-bpjs.contained"), "practitioners": practitioners(),
    }
    context.update(changes)
    return ClaimContext(**context)


def changed(ctx: ClaimContext, **resources: Any) -> ClaimContext:
    """A copy of `ctx` with some resources replaced (deep copies, so cases never share state)."""
    values = {f.name: copy.deepcopy(getattr(ctx, f.name)) for f in dataclasses.fields(ctx) if f.init}
    values.update(resources)
    return ClaimContext(**values)


__all__ = ["CARD", "NIK_CODER", "SEP", "changed", "icd10", "icd9", "info", "inpatient_case", "outpatient_case",
           "patient", "quantity", "KEMKES"]
