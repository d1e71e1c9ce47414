"""A seeded corpus of synthetic JKN claims for the precheck (issue 15): clinically correct clean cases and cases with
exactly one injected defect, one or more per rule.

Each case is a complete claim file as docs/prechecks.md describes it (Patient with an NIK that encodes the birth
date and sex, an active Coverage, Encounter, a Condition / Procedure of the encounter for every billed code, Claim,
Invoice, ChargeItems, DocumentReferences signed by the DPJP,
results, proof of therapy, prescriptions of special drugs, the FKTP referral) plus the patient's earlier claims at
this hospital. `clean_cases(n)` and `defect_cases(per_rule)` are deterministic for a seed; `CorpusCase.context()`
/ `.record()` / `.history()` give what `fhirclaim.claims.precheck.precheck` takes.

Clean templates: emergency wound suturing, dengue, child gastroenteritis, COPD exacerbation, chemotherapy
admission (Z51.1 with the tumour and its ICD-O-3 morphology), outpatient haemodialysis, diabetes follow-up visit,
myocardial infarction transferred out, low-birth-weight newborn, spontaneous and caesarean deliveries, delivery
with postpartum haemorrhage and transfusion, ICU pneumonia with ventilation, appendectomy, hip fracture after a
fall, traffic accident, class upgrade, thalassaemia transfusion, prostatectomy (TURP).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fhirclaim.claims.claim_context import ClaimContext
from fhirclaim.claims.rules.base import PastEpisode
from fhirclaim.claims.rules.record import ClaimRecord, gather_record

WIB = timezone(timedelta(hours=7))
ICD10, ICD9, LOINC = "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-9-cm", "http://loinc.org"
ICD_O_3, ATC = "http://terminology.hl7.org/CodeSystem/icd-o-3", "http://www.whocc.no/atc"
OWN = "https://fhirclaim.org/fhir/CodeSystem/claim-information-category"
KEMKES = "http://terminology.kemkes.go.id/CodeSystem/claiminformationcategory"
HL7_INFO = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
DOC_TYPE = "https://fhirclaim.org/fhir/CodeSystem/claim-document-type"
WARD = "https://fhirclaim.org/fhir/CodeSystem/ward-class"
NIK = "https://fhir.kemkes.go.id/id/nik"
CARD = "https://sys-ids.kemkes.go.id/insurance-subscriber/100025555"
SEP_SYSTEM = "http://sys-ids.kemkes.go.id/claim-number/100025555"
Resource = dict[str, Any]


@dataclass
class CorpusCase:
    """One claim file and the patient's history; `defect` is the rule the injected defect should trip."""

    name: str
    resources: dict[str, Any]
    episodes: list[PastEpisode] = field(default_factory=list)
    defect: str | None = None

    def context(self) -> ClaimContext:
        r = self.resources
        return ClaimContext(claim=r["claim"], patient=r["patient"], encounter=r["encounter"], coverage=r["coverage"],
                            practitioners=r["practitioners"], invoice=r["invoice"])

    def record(self) -> ClaimRecord:
        """Read as the server reads it (`gather_record`), over this case's resources instead of the store."""
        index = {f"{x['resourceType']}/{x['id']}": x for x in self._linked()}
        return gather_record(self.context(), index.get, self._search, self.resources["charge_items"])

    def _search(self, resource_type: str, parameters: list[tuple[str, str]]) -> list[Resource]:
        """The store's search by encounter (`encounter`, `context`), over the case's resources."""
        wanted = {value for _, value in parameters}
        found = []
        for resource in self._linked():
            context = resource.get("context") or {}
            refs = {(resource.get("encounter") or {}).get("reference"), context.get("reference")}
            refs |= {e.get("reference") for e in context.get("encounter") or []} if isinstance(context, dict) else set()
            if resource["resourceType"] == resource_type and wanted <= refs:
                found.append(resource)
        return found

    def history(self) -> MemoryHistory:
        return MemoryHistory(self.episodes)

    def _linked(self) -> list[Resource]:
        r = self.resources
        return [*r["documents"], *r["results"], *r["therapies"], *r["prescriptions"], *r["charge_items"],
                *r["recorded"]]


class MemoryHistory:
    """The hospital's earlier claims of the patient, as `StoreClaimHistory` answers."""

    def __init__(self, episodes: list[PastEpisode]):
        self.all = episodes

    def episodes(self, patient: str, *, start: datetime, end: datetime) -> list[PastEpisode]:
        return [e for e in self.all if e.admission <= end and e.discharge >= start]


# --- building blocks ------------------------------------------------------------------------------------------

class Builder:
    """Builds one claim file; templates call its methods, defects edit `resources` afterwards."""

    def __init__(self, rng: random.Random, number: int, *, sex: str, age_days: int, inpatient: bool,
                 days: int = 0, klass: str = "2", emergency: bool = False):
        self.rng, self.n = rng, number
        self.admission = datetime(2025, 1, 6, 8, tzinfo=WIB) + timedelta(days=rng.randrange(300),
                                                                          hours=rng.randrange(10))
        self.discharge = self.admission + (timedelta(days=days, hours=2) if inpatient else timedelta(hours=2))
        self.birth = self.admission.date() - timedelta(days=age_days)
        self.sex, self.inpatient, self.klass, self.emergency = sex, inpatient, klass, emergency
        self.card = f"000{rng.randrange(10**9, 10**10)}"
        self.sep = f"0301R001{self.admission:%m%y}V{number:06d}"
        self.r: dict[str, Any] = {"documents": [], "results": [], "therapies": [], "prescriptions": [],
                                  "charge_items": [], "practitioners": {}, "recorded": []}
        self.diagnoses: list[Resource] = []
        self.procedures: list[Resource] = []
        self.info: list[Resource] = []
        self.items_total = 0

    # people and cover
    def people(self, newborn: bool = False) -> None:
        self.r["practitioners"] = {
            "Practitioner/dpjp": {"resourceType": "Practitioner", "id": "dpjp", "name": [{"text": "dr. Ayu, Sp.PD"}]},
            "Practitioner/other": {"resourceType": "Practitioner", "id": "other", "name": [{"text": "dr. Bima"}]},
            "Practitioner/coder": {"resourceType": "Practitioner", "id": "coder", "name": [{"text": "Ani"}],
                                   "identifier": [{"system": NIK, "value": "3171012345670001"}]}}
        identifiers = [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                        "value": f"RM-{self.n:06d}"}, {"system": CARD, "value": self.card}]
        if not newborn:
            identifiers.insert(0, {"system": NIK, "value": nik(self.birth, self.sex, self.rng)})
        self.r["patient"] = {"resourceType": "Patient", "id": f"pat-{self.n}", "identifier": identifiers,
                             "name": [{"text": f"Pasien {self.n}"}], "gender": self.sex,
                             "birthDate": self.birth.isoformat()}
        self.r["coverage"] = {
            "resourceType": "Coverage", "id": f"cov-{self.n}", "status": "active", "subscriberId": self.card,
            "beneficiary": {"reference": f"Patient/pat-{self.n}"}, "payor": [{"reference": "Organization/bpjs"}],
            "period": {"start": "2020-01-01", "end": "2030-12-31"},
            "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                                            "code": "class"}]}, "value": self.klass}]}

    def diagnosis(self, code: str, morphology: str | None = None) -> None:
        concept = {"coding": [{"system": ICD10, "code": code}]}
        if morphology:
            concept["coding"].append({"system": ICD_O_3, "code": morphology})
        entry: Resource = {"sequence": len(self.diagnoses) + 1, "diagnosisCodeableConcept": concept}
        if not self.diagnoses:
            entry["type"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                          "code": "principal"}]}]
        self.diagnoses.append(entry)
        self._recorded("Condition", ICD10, code)

    def procedure(self, code: str) -> None:
        self.procedures.append({"sequence": len(self.procedures) + 1,
                                "procedureCodeableConcept": {"coding": [{"system": ICD9, "code": code}]}})
        self._recorded("Procedure", ICD9, code)

    def _recorded(self, resource_type: str, system: str, code: str) -> None:
        """The encounter's Condition / Procedure behind a billed code (what the signed Bundle carries)."""
        resource = {"resourceType": resource_type, "id": f"{resource_type[:4].lower()}-{self.n}-{code}",
                    "subject": {"reference": f"Patient/pat-{self.n}"},
                    "encounter": {"reference": f"Encounter/enc-{self.n}"},
                    "code": {"coding": [{"system": system, "code": code}]}}
        if resource_type == "Procedure":
            resource["status"] = "completed"
        self.r["recorded"].append(resource)

    # the claim file
    def document(self, loinc: str | None = None, own: str | None = None) -> None:
        """A DocumentReference or (one in five) a Composition, signed by the DPJP; linked from supportingInfo or
        (three in ten) found only through its Encounter."""
        number = len(self.r["documents"]) + 1
        coding = {"system": LOINC, "code": loinc} if loinc else {"system": DOC_TYPE, "code": own}
        common = {"type": {"coding": [coding]}, "subject": {"reference": f"Patient/pat-{self.n}"},
                  "author": [{"reference": "Practitioner/dpjp"}]}
        if self.rng.random() < 0.2:
            doc = {"resourceType": "Composition", "id": f"doc-{self.n}-{number}", "status": "final", **common,
                   "encounter": {"reference": f"Encounter/enc-{self.n}"}, "date": self._during(0),
                   "title": "Resume", "attester": [{"mode": "legal", "party": {"reference": "Practitioner/dpjp"}}]}
        else:
            doc = {"resourceType": "DocumentReference", "id": f"doc-{self.n}-{number}", "status": "current",
                   **common, "authenticator": {"reference": "Practitioner/dpjp"},
                   "context": {"encounter": [{"reference": f"Encounter/enc-{self.n}"}]},
                   "content": [{"attachment": {"contentType": "application/pdf",
                                               "url": f"https://rs.example/{number}"}}]}
        self.r["documents"].append(doc)
        if self.rng.random() >= 0.3:
            self._link(doc, "attachment")

    def result(self, loinc: str, kpt: int = 75000) -> None:
        """An Observation or (three in ten) a DiagnosticReport, linked from supportingInfo and billed."""
        kind = "DiagnosticReport" if self.rng.random() < 0.3 else "Observation"
        obs = {"resourceType": kind, "id": f"res-{self.n}-{len(self.r['results']) + 1}",
               "status": "final", "code": {"coding": [{"system": LOINC, "code": loinc}]},
               "subject": {"reference": f"Patient/pat-{self.n}"}, "effectiveDateTime": self._during(0)}
        self.r["results"].append(obs)
        self._link(obs, "info")
        self.charge(f"LAB-{loinc}", kpt)

    def therapy(self, code: str) -> None:
        proc = {"resourceType": "Procedure", "id": f"proc-{self.n}-{len(self.r['therapies']) + 1}",
                "status": "completed", "code": {"coding": [{"system": ICD9, "code": code}]},
                "subject": {"reference": f"Patient/pat-{self.n}"}, "performedDateTime": self._during(0)}
        self.r["therapies"].append(proc)
        self._link(proc, "info")

    def drug(self, atc: str, price: int, prescribed: bool = True) -> None:
        item = self.charge(f"DRUG-{atc}", price, coding={"system": ATC, "code": atc})
        if prescribed:
            request = {"resourceType": "MedicationRequest", "id": f"mr-{self.n}-{atc}", "status": "completed",
                       "intent": "order", "subject": {"reference": f"Patient/pat-{self.n}"},
                       "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]},
                       "requester": {"reference": "Practitioner/dpjp"}}
            self.r["prescriptions"].append(request)
            item["supportingInformation"] = [{"reference": f"MedicationRequest/{request['id']}"}]

    def charge(self, code: str, price: int, coding: Resource | None = None, day: int = 0) -> Resource:
        number = len(self.r["charge_items"]) + 1
        codings = [{"system": "http://terminology.kemkes.go.id/CodeSystem/kptl", "code": code}]
        if coding:
            codings.append(coding)
        item = {"resourceType": "ChargeItem", "id": f"ci-{self.n}-{number}", "status": "billable",
                "code": {"coding": codings}, "subject": {"reference": f"Patient/pat-{self.n}"},
                "context": {"reference": f"Encounter/enc-{self.n}"}, "occurrenceDateTime": self._during(day),
                "priceOverride": {"value": price, "currency": "IDR"}}
        self.r["charge_items"].append(item)
        self.items_total += price
        return item

    def supporting(self, category: str, system: str = OWN, **value: Any) -> None:
        self.info.append({"sequence": 0, "category": {"coding": [{"system": system, "code": category}]}, **value})

    def finish(self) -> dict[str, Any]:
        if self.inpatient:
            ward = {"1": "kelas_1", "2": "kelas_2", "3": "kelas_3"}[self.klass]
            self.charge("ROOM", 300000, coding={"system": WARD, "code": ward})
        self.charge("REG", 50000)
        self._encounter()
        self._claim()
        return self.r

    def _encounter(self) -> None:
        code = "IMP" if self.inpatient else ("EMER" if self.emergency else "AMB")
        encounter: Resource = {
            "resourceType": "Encounter", "id": f"enc-{self.n}", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code},
            "subject": {"reference": f"Patient/pat-{self.n}"},
            "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                   "v3-ParticipationType", "code": "ATND"}]}],
                             "individual": {"reference": "Practitioner/dpjp"}}],
            "period": {"start": self.admission.isoformat(), "end": self.discharge.isoformat()}}
        if self.inpatient:
            encounter["hospitalization"] = {"dischargeDisposition": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}]}}
            if self.emergency:
                encounter["hospitalization"]["admitSource"] = {"coding": [{"code": "emd"}]}
        self.r["encounter"] = encounter

    def _claim(self) -> None:
        total = {"value": self.items_total, "currency": "IDR"}
        self.r["invoice"] = {"resourceType": "Invoice", "id": f"inv-{self.n}", "status": "issued",
                             "totalGross": dict(total), "totalNet": dict(total)}
        links = [{"sequence": 0, "category": {"coding": [{"system": KEMKES, "code": "encounter"}]},
                  "valueReference": {"reference": f"Encounter/enc-{self.n}"}},
                 {"sequence": 0, "category": {"coding": [{"system": KEMKES, "code": "invoice"}]},
                  "valueReference": {"reference": f"Invoice/inv-{self.n}"}}]
        info = links + self.info
        for sequence, entry in enumerate(info, 1):
            entry["sequence"] = sequence
        claim: Resource = {
            "resourceType": "Claim", "id": f"claim-{self.n}", "status": "active", "use": "claim",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "institutional"}]},
            "patient": {"reference": f"Patient/pat-{self.n}"}, "created": self.discharge.isoformat(),
            "enterer": {"reference": "Practitioner/coder"}, "provider": {"reference": "Organization/rs"},
            "priority": {"coding": [{"code": "normal"}]},
            "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/dpjp"}, "role": {"coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/claimcareteamrole", "code": "primary"}]}}],
            "supportingInfo": info, "diagnosis": self.diagnoses, "procedure": self.procedures,
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/cov-{self.n}"},
                           "identifier": {"system": SEP_SYSTEM, "value": self.sep}}],
            "total": total}
        if not self.emergency:
            claim["referral"] = {"identifier": {"system": "https://sys-ids.kemkes.go.id/rujukan",
                                                "value": f"0301U{self.n:09d}"}}
        self.r["claim"] = claim

    def _link(self, resource: Resource, category: str) -> None:
        self.supporting(category, HL7_INFO,
                        valueReference={"reference": f"{resource['resourceType']}/{resource['id']}"})

    def _during(self, day: int) -> str:
        return (self.admission + timedelta(days=day, hours=1)).isoformat()


def nik(born: date, sex: str, rng: random.Random) -> str:
    """Province 31, regency 71, district 01, then DDMMYY (day + 40 for women) and a serial."""
    day = born.day + (40 if sex == "female" else 0)
    return f"317101{day:02d}{born:%m%y}{rng.randrange(1, 9999):04d}"


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def episode(b: Builder, sep: str, jenis: str, start: datetime, end: datetime, principal: str,
            claim_id: str | None = None) -> PastEpisode:
    return PastEpisode(sep, jenis, start, end, principal, claim_id or f"old-{sep}")


# --- clean templates --------------------------------------------------------------------------------------------

def chemotherapy(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="female", age_days=rng.randrange(35, 65) * 365, inpatient=True, days=1)
    b.people()
    b.diagnosis("Z51.1")
    b.diagnosis("C50.9", morphology="8500/3")
    b.procedure("99.25")
    b.document("18842-5")
    b.therapy("99.25")
    b.drug("L01DB01", 1200000)
    b.drug("L01AA01", 450000)
    b.result("718-7")
    r = b.finish()
    history = [episode(b, f"0301R001{(b.admission - timedelta(days=21)):%m%y}V9{n:05d}", "1",
                       b.admission - timedelta(days=21), b.admission - timedelta(days=20), "Z51.1")]
    return CorpusCase("chemotherapy", r, history)


def dialysis(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(40, 70) * 365, inpatient=False)
    b.people()
    b.diagnosis("N18.5")
    b.procedure("39.95")
    b.document("34108-1")
    b.result("2160-0")
    b.therapy("39.95")
    b.charge("HD", 900000)
    r = b.finish()
    history = [episode(b, f"0301R001{b.admission:%m%y}V8{d}{n:04d}", "2", b.admission - timedelta(days=d),
                       b.admission - timedelta(days=d, hours=-3), "N18.5") for d in (3, 7)]
    return CorpusCase("dialysis", r, history)


def follow_up(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(45, 75) * 365, inpatient=False)
    b.people()
    b.diagnosis("E11.9")
    b.document("34108-1")
    b.result("4548-4")
    b.drug("A10BA02", 30000, prescribed=rng.random() < 0.5)
    r = b.finish()
    history = [episode(b, f"0301R001{b.admission:%m%y}V7{n:05d}", "2", b.admission - timedelta(days=30),
                       b.admission - timedelta(days=30, hours=-1), "E11.9")]
    return CorpusCase("follow-up", r, history)


def transfer(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="male", age_days=rng.randrange(45, 75) * 365, inpatient=True, days=rng.randrange(1, 3),
                emergency=True)
    b.people()
    b.diagnosis("I21.9")
    b.diagnosis("I10")
    b.procedure("89.52")
    b.document("18842-5")
    b.result("11524-6")
    b.result("6598-7")
    r = b.finish()
    r["encounter"]["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] = "other-hcf"
    return CorpusCase("transfer", r)


def newborn(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=0, inpatient=True, days=rng.randrange(3, 8))
    b.people(newborn=True)
    b.diagnosis("P07.1")
    b.supporting("birth-weight", **quantity(rng.randrange(1500, 2450, 10), "g"))
    b.document("18842-5")
    r = b.finish()
    del r["claim"]["referral"]
    r["encounter"]["hospitalization"]["admitSource"] = {"coding": [{"code": "born"}]}
    return CorpusCase("newborn", r)


def delivery(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="female", age_days=rng.randrange(20, 38) * 365, inpatient=True, days=1)
    b.people()
    b.diagnosis("O80.0")
    b.diagnosis("Z37.0")
    b.procedure("73.59")
    b.document("18842-5")
    return CorpusCase("delivery", b.finish())


def caesarean(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="female", age_days=rng.randrange(20, 40) * 365, inpatient=True, days=3)
    b.people()
    b.diagnosis("O82.0")
    b.diagnosis("Z37.0")
    b.procedure("74.1")
    b.document("18842-5")
    b.document("11504-8")
    return CorpusCase("caesarean", b.finish())


def complicated_delivery(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="female", age_days=rng.randrange(20, 40) * 365, inpatient=True, days=2, emergency=True)
    b.people()
    b.diagnosis("O72.0")
    b.diagnosis("O80.0")
    b.diagnosis("Z37.0")
    b.procedure("73.59")
    b.procedure("99.04")
    b.document("18842-5")
    b.therapy("99.04")
    b.result("718-7")
    return CorpusCase("delivery-pph", b.finish())


def icu_pneumonia(rng: random.Random, n: int) -> CorpusCase:
    days = rng.randrange(5, 10)
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(30, 80) * 365, inpatient=True,
                days=days, emergency=True)
    b.people()
    b.diagnosis("J18.9")
    b.diagnosis("J96.0")
    b.procedure("96.71")
    b.supporting("icu-days", **quantity(rng.randrange(2, days), "d"))
    b.supporting("ventilator-hours", **quantity(rng.randrange(24, 95), "h"))
    b.document("18842-5")
    b.result("36643-5")
    b.result("24336-0")
    return CorpusCase("icu-pneumonia", b.finish())


def appendectomy(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(12, 50) * 365, inpatient=True,
                days=rng.randrange(2, 5), emergency=True)
    b.people()
    b.diagnosis("K35.8")
    b.procedure("47.09")
    b.document("18842-5")
    b.document("11504-8")
    return CorpusCase("appendectomy", b.finish())


def hip_fracture(rng: random.Random, n: int, traffic: bool = False) -> CorpusCase:
    b = Builder(rng, n, sex="female", age_days=rng.randrange(60, 85) * 365, inpatient=True,
                days=rng.randrange(4, 9), emergency=True)
    b.people()
    b.diagnosis("S72.0")
    b.diagnosis("V43.5" if traffic else "W19")
    b.procedure("81.51")
    b.document("18842-5")
    b.document("11504-8")
    if traffic:
        b.document(own="traffic-accident-letter")
    return CorpusCase("traffic-accident" if traffic else "hip-fracture", b.finish())


def upgrade(rng: random.Random, n: int) -> CorpusCase:
    days = rng.randrange(3, 6)
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(30, 70) * 365, inpatient=True,
                days=days, klass="2")
    b.people()
    b.diagnosis("A09")
    b.supporting("upgrade-class-indicator", KEMKES,
                 code={"coding": [{"system": "http://terminology.kemkes.go.id/CodeSystem/upgradeClassIndicator",
                                   "code": "upgrade"}]})
    b.supporting("upgrade-class-class", KEMKES, valueString="kelas_1")
    b.supporting("upgrade-class-los", **quantity(days, "d"))
    b.document("18842-5")
    b.klass = "1"  # the room charged is the upgraded one
    r = b.finish()
    return CorpusCase("class-upgrade", r)


def thalassaemia(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(6, 25) * 365, inpatient=False)
    b.people()
    b.diagnosis("D56.1")
    b.procedure("99.04")
    b.document("34108-1")
    b.document(own="thalassaemia-certificate")
    b.result("718-7")
    b.therapy("99.04")
    b.drug("V03AC03", 850000)
    return CorpusCase("thalassaemia", b.finish())


def prostate(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="male", age_days=rng.randrange(55, 80) * 365, inpatient=True, days=rng.randrange(2, 5))
    b.people()
    b.diagnosis("N40")
    b.procedure("60.29")
    b.document("18842-5")
    b.document("11504-8")
    return CorpusCase("turp", b.finish())


def emergency_wound(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(8, 70) * 365, inpatient=False,
                emergency=True)
    b.people()
    b.diagnosis("S61.0")
    b.diagnosis("W26")
    b.procedure("86.59")
    b.document("34108-1")
    return CorpusCase("emergency-wound", b.finish())


def dengue(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(5, 40) * 365, inpatient=True,
                days=rng.randrange(3, 6), emergency=True)
    b.people()
    b.diagnosis("A91")
    b.document("18842-5")
    b.result("777-3")
    b.result("4544-3")
    r = b.finish()
    start = b.admission - timedelta(days=rng.randrange(60, 200))
    return CorpusCase("dengue", r, [episode(b, f"0301R001{start:%m%y}V6{n:05d}", "1", start, start + timedelta(days=3),
                                            "A91")])


def child_gastroenteritis(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex=rng.choice(["male", "female"]), age_days=rng.randrange(1, 10) * 365 + rng.randrange(300),
                inpatient=True, days=rng.randrange(2, 5))
    b.people()
    b.diagnosis("A09")
    b.diagnosis("E86")
    b.document("18842-5")
    r = b.finish()
    visit = b.admission - timedelta(days=1)
    return CorpusCase("child-gastroenteritis", r, [episode(b, f"0301R001{visit:%m%y}V4{n:05d}", "2", visit,
                                                           visit + timedelta(hours=1), "A09")])


def copd(rng: random.Random, n: int) -> CorpusCase:
    b = Builder(rng, n, sex="male", age_days=rng.randrange(50, 85) * 365, inpatient=True, days=rng.randrange(3, 7),
                klass=rng.choice(["1", "2", "3"]))
    b.people()
    b.diagnosis("J44.1")
    b.diagnosis("I10")
    b.procedure("93.96")
    b.document("18842-5")
    b.therapy("93.96")
    return CorpusCase("copd", b.finish())


TEMPLATES: list[Callable[[random.Random, int], CorpusCase]] = [
    emergency_wound, dengue, child_gastroenteritis, copd,
    chemotherapy, dialysis, follow_up, transfer, newborn, delivery, caesarean, complicated_delivery, icu_pneumonia,
    appendectomy, hip_fracture, lambda rng, n: hip_fracture(rng, n, traffic=True), upgrade, thalassaemia, prostate,
]


def clean_cases(count: int = 300, seed: int = 15) -> list[CorpusCase]:
    rng = random.Random(seed)
    return [TEMPLATES[i % len(TEMPLATES)](rng, i + 1) for i in range(count)]


# --- defects: one per case, each meant to trip one rule ------------------------------------------------------------

Defect = Callable[[CorpusCase, random.Random], None]


def _claim(case: CorpusCase) -> Resource:
    return case.resources["claim"]


def _drop(case: CorpusCase, kind: str, match: Callable[[Resource], bool]) -> None:
    """Remove resources of a claim-file list and the supportingInfo entries that link them."""
    gone = [x for x in case.resources[kind] if match(x)]
    case.resources[kind] = [x for x in case.resources[kind] if not match(x)]
    refs = {f"{x['resourceType']}/{x['id']}" for x in gone}
    claim = _claim(case)
    claim["supportingInfo"] = [i for i in claim["supportingInfo"]
                               if (i.get("valueReference") or {}).get("reference") not in refs]


def _typed(code: str) -> Callable[[Resource], bool]:
    return lambda doc: any(c.get("code") == code for c in doc["type"]["coding"])


def _info(case: CorpusCase, category: str) -> Resource:
    return next(i for i in _claim(case)["supportingInfo"] if i["category"]["coding"][0]["code"] == category)


def _codes(case: CorpusCase, *codes: str) -> None:
    _claim(case)["diagnosis"] = []
    for sequence, code in enumerate(codes, 1):
        _claim(case)["diagnosis"].append({"sequence": sequence, "diagnosisCodeableConcept": {
            "coding": [{"system": ICD10, "code": code}]}})


def _add_procedure(case: CorpusCase, code: str) -> None:
    procedures = _claim(case)["procedure"]
    procedures.append({"sequence": len(procedures) + 1, "procedureCodeableConcept": {
        "coding": [{"system": ICD9, "code": code}]}})


def _period(case: CorpusCase) -> tuple[datetime, datetime]:
    period = case.resources["encounter"]["period"]
    return datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])


def _set_total(case: CorpusCase, value: int) -> None:
    _claim(case)["total"]["value"] = value
    case.resources["invoice"]["totalGross"] = {"value": value, "currency": "IDR"}


def _no_nik_birth(case: CorpusCase, rng: random.Random) -> None:
    nik_entry = case.resources["patient"]["identifier"][0]
    value = nik_entry["value"]
    day = int(value[6:8])
    nik_entry["value"] = f"{value[:6]}{(day % 40 % 28) + 1 + (40 if day > 40 else 0):02d}{value[8:]}"
    if nik_entry["value"] == value:
        nik_entry["value"] = f"{value[:8]}{(int(value[8:10]) % 12) + 1:02d}{value[10:]}"


def _nik_sex(case: CorpusCase, rng: random.Random) -> None:
    nik_entry = case.resources["patient"]["identifier"][0]
    value = nik_entry["value"]
    day = int(value[6:8])
    nik_entry["value"] = f"{value[:6]}{day - 40 if day > 40 else day + 40:02d}{value[8:]}"


def _age(case: CorpusCase, years: int) -> None:
    start, _ = _period(case)
    born = start.date().replace(year=start.year - years, day=min(start.day, 28))
    patient = case.resources["patient"]
    patient["birthDate"] = born.isoformat()
    patient["identifier"][0]["value"] = nik(born, patient["gender"], random.Random(years))


def _history(case: CorpusCase, jenis: str, start: datetime, end: datetime, principal: str, sep: str | None = None,
             claim_id: str | None = None) -> None:
    case.episodes.append(PastEpisode(sep or f"0301R001{start:%m%y}V5{start:%d%H}00", jenis, start, end, principal,
                                     claim_id or "old-claim"))


DEFECTS: dict[str, tuple[str, Defect]] = {
    "PRECHECK-PATIENT-UNRESOLVED": ("follow-up", lambda c, r: c.resources.update(patient=None)),
    "PRECHECK-ENCOUNTER-UNRESOLVED": ("dialysis", lambda c, r: c.resources.update(encounter=None)),
    "PRECHECK-COVERAGE-UNRESOLVED": ("appendectomy", lambda c, r: c.resources.update(coverage=None)),
    "PRECHECK-SEP-MISSING": ("delivery", lambda c, r: _claim(c)["insurance"][0].pop("identifier")),
    "PRECHECK-CODER-NIK": ("caesarean", lambda c, r: _claim(c).pop("enterer")),
    "PRECHECK-DISCHARGE-BEFORE-ADMISSION": ("appendectomy", lambda c, r: c.resources["encounter"].update(
        period={"start": c.resources["encounter"]["period"]["end"],
                "end": c.resources["encounter"]["period"]["start"]})),
    "PRECHECK-ICU-DAYS": ("icu-pneumonia", lambda c, r: _info(c, "icu-days")["valueQuantity"].update(value=30)),
    "PRECHECK-UPGRADE-LOS": ("class-upgrade", lambda c, r: _info(c, "upgrade-class-los")["valueQuantity"].update(
        value=20)),
    "PRECHECK-UPGRADE-FROM-CLASS-3": ("class-upgrade", lambda c, r: c.resources["coverage"]["class"][0].update(
        value="3")),
    "PRECHECK-TARIF-MINIMUM": ("follow-up", lambda c, r: _set_total(c, 10000)),
    "PRECHECK-ADL-RANGE": ("hip-fracture", lambda c, r: _claim(c)["supportingInfo"].append(
        {"sequence": 99, "category": {"coding": [{"system": OWN, "code": "adl-chronic"}]}, **quantity(75, "{score}")})),
    "PRECHECK-ICD10-INVALID": ("transfer", lambda c, r: _claim(c)["diagnosis"].append(
        {"sequence": 9, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "I99.9X"}]}})),
    "PRECHECK-ICD9CM-INVALID": ("transfer", lambda c, r: _add_procedure(c, "89.599")),
    "PRECHECK-NEWBORN-BIRTH-WEIGHT": ("newborn", lambda c, r: _drop_info(c, "birth-weight")),
    "PRECHECK-DPJP-MISSING": ("follow-up", lambda c, r: (_claim(c).pop("careTeam"),
                                                         c.resources["encounter"].pop("participant"))),
    "PRECHECK-ASTERISK-PRINCIPAL": ("icu-pneumonia", lambda c, r: _codes(c, "J17.1", "B05.2", "J96.0")),
    "PRECHECK-SYMPTOM-PRINCIPAL": ("appendectomy", lambda c, r: _codes(c, "R10.3", "K35.8")),
    "PRECHECK-PERINATAL-PRINCIPAL": ("follow-up", lambda c, r: _codes(c, "P07.1", "E11.9")),
    "PRECHECK-HEALTHY-NEWBORN": ("newborn", lambda c, r: _codes(c, "Z38.0")),
    "PRECHECK-CAESAREAN-WITHOUT-O82": ("caesarean", lambda c, r: _codes(c, "O80.0", "Z37.0")),
    "PRECHECK-INJURY-EXTERNAL-CAUSE": ("hip-fracture", lambda c, r: _codes(c, "S72.0")),
    "PRECHECK-NIK-BIRTH-DATE": ("transfer", _no_nik_birth),
    "PRECHECK-NIK-SEX": ("dialysis", _nik_sex),
    "PRECHECK-CARD-MISMATCH": ("chemotherapy", lambda c, r: c.resources["patient"]["identifier"][2].update(
        value=f"000{r.randrange(10**9, 10**10)}")),
    "PRECHECK-COVERAGE-INACTIVE": ("thalassaemia", lambda c, r: c.resources["coverage"].update(
        period={"start": "2020-01-01", "end": "2024-12-31"})),
    "PRECHECK-SEP-FORMAT": ("turp", lambda c, r: _claim(c)["insurance"][0]["identifier"].update(
        value=f"0301R001-{r.randrange(10**5, 10**6)}")),
    "PRECHECK-COMBINATION-CODE": ("dialysis", lambda c, r: _codes(c, "N18.5", "I11.9")),
    "PRECHECK-NEOPLASM-MORPHOLOGY": ("chemotherapy", lambda c, r: _claim(c)["diagnosis"][1][
        "diagnosisCodeableConcept"]["coding"].pop()),
    "PRECHECK-DELIVERY-COMPLICATION-ORDER": ("delivery-pph", lambda c, r: _codes(c, "O80.0", "O72.0", "Z37.0")),
    "PRECHECK-CAESAREAN-O82-NOT-PRINCIPAL": ("caesarean", lambda c, r: _codes(c, "Z37.0", "O82.0")),
    "PRECHECK-EXTERNAL-CAUSE-PRINCIPAL": ("hip-fracture", lambda c, r: _codes(c, "W19", "S72.0")),
    "PRECHECK-SEX-SPECIFIC-CODE": ("turp", lambda c, r: (c.resources["patient"].update(gender="female"),
                                                         _nik_sex(c, r))),
    "PRECHECK-AGE-SPECIFIC-CODE": ("turp", lambda c, r: _age(c, r.randrange(18, 26))),
    "PRECHECK-PROCEDURE-WITHOUT-DIAGNOSIS": ("appendectomy", lambda c, r: _codes(c, "K59.0")),
    "PRECHECK-INPATIENT-ONLY-PROCEDURE": ("dialysis", lambda c, r: _add_procedure(c, "36.06")),
    "PRECHECK-MULTI-DAY-OUTPATIENT": ("follow-up", lambda c, r: c.resources["encounter"]["period"].update(
        end=(_period(c)[0] + timedelta(days=2)).isoformat())),
    "PRECHECK-INVOICE-TOTAL": ("appendectomy", lambda c, r: _claim(c)["total"].update(
        value=_claim(c)["total"]["value"] + r.randrange(50000, 500000))),
    "PRECHECK-SERVICE-OUTSIDE-STAY": ("hip-fracture", lambda c, r: c.resources["charge_items"][0].update(
        occurrenceDateTime=(_period(c)[1] + timedelta(days=r.randrange(2, 9))).isoformat())),
    "PRECHECK-VENTILATION-HOURS": ("icu-pneumonia", lambda c, r: _drop_info(c, "ventilator-hours")),
    "PRECHECK-UPGRADE-UNDECLARED": ("transfer", lambda c, r: c.resources["charge_items"][-2]["code"]["coding"][1]
                                    .update(code=r.choice(["kelas_1", "vip"]))),
    "PRECHECK-UPGRADE-NOT-HIGHER": ("class-upgrade", lambda c, r: _info(c, "upgrade-class-class").update(
        valueString=r.choice(["kelas_2"]))),
    "PRECHECK-BIRTH-WEIGHT-RANGE": ("newborn", lambda c, r: _info(c, "birth-weight")["valueQuantity"].update(
        value=r.choice([2, 3, 25, 8900]))),
    "PRECHECK-RESUME-MISSING": ("icu-pneumonia", lambda c, r: _drop(c, "documents", _typed("18842-5"))),
    "PRECHECK-RESUME-UNSIGNED": ("delivery", lambda c, r: _signed_by(c.resources["documents"][0], None)),
    "PRECHECK-RESUME-DPJP-MISMATCH": ("chemotherapy", lambda c, r: _signed_by(c.resources["documents"][0],
                                                                              "Practitioner/other")),
    "PRECHECK-OPERATION-REPORT-MISSING": ("appendectomy", lambda c, r: _drop(c, "documents", _typed("11504-8"))),
    "PRECHECK-ACCIDENT-LETTER-MISSING": ("traffic-accident", lambda c, r: _drop(
        c, "documents", _typed("traffic-accident-letter"))),
    "PRECHECK-THALASSAEMIA-LETTER-MISSING": ("thalassaemia", lambda c, r: _drop(
        c, "documents", _typed("thalassaemia-certificate"))),
    "PRECHECK-SUPPORTING-RESULT-MISSING": ("transfer", lambda c, r: _drop(c, "results", lambda x: True)),
    "PRECHECK-SECONDARY-UNSUPPORTED": ("icu-pneumonia", lambda c, r: _drop(
        c, "results", lambda x: x["code"]["coding"][0]["code"] == "24336-0")),
    "PRECHECK-THERAPY-EVIDENCE-MISSING": ("dialysis", lambda c, r: _drop(c, "therapies", lambda x: True)),
    "PRECHECK-SPECIAL-DRUG-PRESCRIPTION": ("chemotherapy", lambda c, r: c.resources["charge_items"][0].pop(
        "supportingInformation")),
    "PRECHECK-REFERRAL-MISSING": ("follow-up", lambda c, r: _claim(c).pop("referral")),
    "PRECHECK-CODE-WITHOUT-RECORD": ("transfer", lambda c, r: c.resources["recorded"].pop(
        r.randrange(len(c.resources["recorded"])))),
    "PRECHECK-EKLAIM-PAYLOAD": ("caesarean", lambda c, r: c.resources["encounter"]["hospitalization"][
        "dischargeDisposition"]["coding"][0].update(code="moved")),
    "PRECHECK-READMISSION": ("icu-pneumonia", lambda c, r: _history(
        c, "1", _period(c)[0] - timedelta(days=20), _period(c)[0] - timedelta(days=r.randrange(3, 14)), "J18.0")),
    "PRECHECK-DOUBLE-RITL-RITL": ("appendectomy", lambda c, r: _history(
        c, "1", _period(c)[0] - timedelta(days=1), _period(c)[0] + timedelta(days=1), "K35.8")),
    "PRECHECK-DOUBLE-RJTL-RITL": ("hip-fracture", lambda c, r: _history(
        c, "2", _period(c)[0] + timedelta(days=1), _period(c)[0] + timedelta(days=1, hours=1), "M25.5")),
    "PRECHECK-DOUBLE-RJTL-RJTL": ("follow-up", lambda c, r: _history(
        c, "2", _period(c)[0] + timedelta(hours=1), _period(c)[0] + timedelta(hours=2), "E11.9")),
    "PRECHECK-DUPLICATE-SEP": ("delivery", lambda c, r: _history(
        c, "1", *_period(c), "O80.0", sep=_claim(c)["insurance"][0]["identifier"]["value"], claim_id="claim-copy")),
    "PRECHECK-EPISODE-SPLIT": ("transfer", lambda c, r: _history(
        c, "1", _period(c)[0] - timedelta(days=4), _period(c)[0] - timedelta(hours=3), "I21.9")),
}


def _signed_by(document: Resource, practitioner: str | None) -> None:
    """Re-sign a resume by another practitioner, or (None) leave it unsigned."""
    for key in ("authenticator", "attester"):
        document.pop(key, None)
    if practitioner:
        document["author"] = [{"reference": practitioner}]
        signer = {"reference": practitioner}
        if document["resourceType"] == "Composition":
            document["attester"] = [{"mode": "legal", "party": signer}]
        else:
            document["authenticator"] = signer


def _drop_info(case: CorpusCase, category: str) -> None:
    claim = _claim(case)
    claim["supportingInfo"] = [i for i in claim["supportingInfo"] if i["category"]["coding"][0]["code"] != category]


def defect_cases(per_rule: int = 4, seed: int = 1015) -> list[CorpusCase]:
    """`per_rule` cases for every rule: a fresh clean case of the rule's template with its defect injected."""
    rng = random.Random(seed)
    by_name = {template(random.Random(0), 0).name: template for template in TEMPLATES}
    cases, number = [], 10_000
    for rule, (template_name, inject) in DEFECTS.items():
        for _ in range(per_rule):
            number += 1
            case = by_name[template_name](rng, number)
            case.resources = copy.deepcopy(case.resources)
            inject(case, rng)
            case.defect, case.name = rule, f"{template_name}+{rule}"
            cases.append(case)
    return cases
