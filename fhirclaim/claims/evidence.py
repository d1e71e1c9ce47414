"""The medical record behind a claim (architecture §6): what the signed Bundle carries besides the financing
resources, so that BPJS-K can check every code it pays for against the record ("Bundle klaim dan RME").

Found through the claim's Encounter(s), not only through the Claim's own references, because a SATUSEHAT-style
Claim codes its diagnoses and procedures inline (`diagnosisCodeableConcept`), naming no Condition or Procedure:

- Conditions and Procedures recorded for the encounter whose code is one the Claim bills (and any the Claim
  references); a billed code with no recorded resource is a gap, listed in an OperationOutcome in the Bundle;
- the documents of the encounter (Composition, DocumentReference: discharge summary, operation report, letters)
  and what their sections cite;
- what the Claim cites in `supportingInfo` (Observations, DiagnosticReports and their results, documents);
- for billed drugs and services: each ChargeItem's `service` (a MedicationDispense, a Procedure …), the
  prescriptions behind a dispense, and the encounter's MedicationRequests/Dispenses for a billed product;
- Locations and PractitionerRoles the Claim or the Encounter names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fhirclaim.claims.claim_context import ClaimContext, reference_of

Resource = dict[str, Any]
Read = Callable[[str | None], Resource | None]
Search = Callable[[str, list[tuple[str, str]]], list[Resource]]

ENTERED_IN_ERROR = "entered-in-error"
CITABLE = frozenset({"Condition", "Procedure", "Observation", "DiagnosticReport", "Composition", "DocumentReference",
                     "MedicationRequest", "MedicationDispense", "Medication", "Location", "PractitionerRole"})


@dataclass
class Evidence:
    """The record found for one claim, by kind, in the order the Bundle lists them; `gaps`: billed codes without one."""

    encounters: list[Resource] = field(default_factory=list)
    conditions: list[Resource] = field(default_factory=list)
    procedures: list[Resource] = field(default_factory=list)
    documents: list[Resource] = field(default_factory=list)
    results: list[Resource] = field(default_factory=list)  # Observations, DiagnosticReports
    medications: list[Resource] = field(default_factory=list)
    places_and_roles: list[Resource] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # billed codes with no recorded Condition / Procedure

    def resources(self) -> list[Resource]:
        return [*self.encounters, *self.conditions, *self.procedures, *self.documents, *self.results,
                *self.medications, *self.places_and_roles]

    def gaps_outcome(self, claim_id: str) -> Resource | None:
        """The OperationOutcome that tells BPJS-K which billed codes have no record (None when all have one)."""
        if not self.gaps:
            return None
        return {"resourceType": "OperationOutcome", "id": f"evidence-{claim_id}",
                "issue": [gap.issue() for gap in self.gaps]}


@dataclass(frozen=True)
class Gap:
    """A billed code with no recorded resource: `Claim.<element>[index]` bills `codes` (normalised), and no
    `resource_type` of `encounters` has one of them. The Bundle names it; the precheck warns of it."""

    element: str  # "diagnosis" | "procedure"
    index: int
    codes: tuple[str, ...]
    resource_type: str  # "Condition" | "Procedure"
    encounters: tuple[str, ...]

    @property
    def expression(self) -> str:
        return f"Claim.{self.element}[{self.index}]"

    @property
    def where(self) -> str:
        return ", ".join(self.encounters) or "the claim (it names no Encounter)"

    def issue(self) -> dict[str, Any]:
        """The OperationOutcome issue of the signed Bundle."""
        return {"severity": "warning", "code": "not-found",
                "details": {"text": f"{self.expression} code {', '.join(self.codes)} has no {self.resource_type} "
                                    f"recorded for {self.where}"},
                "expression": [self.expression]}


class MedicalRecord:
    """Reads the record of a claim through `read` (a reference) and `search` (type + parameters), tenant-scoped."""

    def __init__(self, read: Read, search: Search):
        self.read = read
        self.search = search

    def evidence(self, ctx: ClaimContext, charge_items: Iterable[Resource]) -> Evidence:
        evidence = Evidence(encounters=self._encounters(ctx))
        encounter_refs = [f"Encounter/{e['id']}" for e in evidence.encounters]
        cited = self._cited(ctx.claim)
        evidence.conditions, condition_gaps = self._coded(
            ctx.claim, "diagnosis", "Condition", encounter_refs, {**ctx.conditions, **cited.get("Condition", {})})
        evidence.procedures, procedure_gaps = self._coded(
            ctx.claim, "procedure", "Procedure", encounter_refs, {**ctx.procedures, **cited.get("Procedure", {})})
        evidence.gaps = condition_gaps + procedure_gaps
        evidence.documents = self._documents(encounter_refs, cited)
        evidence.results = self._results(ctx, cited, evidence.documents)
        evidence.medications = self._medications(list(charge_items), encounter_refs, cited)
        evidence.places_and_roles = self._places_and_roles(ctx, evidence.encounters, cited)
        return evidence

    # --- encounters and coded findings ----------------------------------------------------------------------

    def _encounters(self, ctx: ClaimContext) -> list[Resource]:
        found = _Found()
        found.add(ctx.encounter)
        for item in ctx.claim.get("item") or []:
            for reference in item.get("encounter") or []:
                found.add(self.read(reference_of(reference)))
        return found.list()

    def _coded(self, claim: Resource, element: str, resource_type: str, encounters: list[str],
               referenced: dict[str, Resource]) -> tuple[list[Resource], list[Gap]]:
        """The encounter's recorded resources for the Claim's codes, those it references, and the codes with none.
        The encounter's record is searched only when a line names codes and no record of its own (issue 17)."""
        coded = [(index, codes) for index, line in enumerate(claim.get(element) or [])
                 if not reference_of(line.get(f"{element}Reference"))  # else the Claim names the record itself
                 and (codes := _codes(line.get(f"{element}CodeableConcept")))]
        recorded = [r for encounter in encounters for r in self.search(resource_type, [("encounter", encounter)])
                    if not _withdrawn(r)] if coded else []
        found = _Found()
        for resource in referenced.values():
            found.add(resource)
        gaps = []
        for index, codes in coded:
            matches = [r for r in recorded if codes & _codes(r.get("code"))]
            for match in matches:
                found.add(match)
            if not matches:
                gaps.append(Gap(element, index, tuple(sorted(codes)), resource_type, tuple(encounters)))
        return found.list(), gaps

    # --- documents and results ------------------------------------------------------------------------------

    def _documents(self, encounters: list[str], cited: dict[str, dict[str, Resource]]) -> list[Resource]:
        found = _Found()
        for resource_type in ("Composition", "DocumentReference"):
            for resource in cited.get(resource_type, {}).values():
                found.add(resource)
            for encounter in encounters:
                for resource in self.search(resource_type, [("encounter", encounter)]):
                    if not _withdrawn(resource):
                        found.add(resource)
        return found.list()

    def _results(self, ctx: ClaimContext, cited: dict[str, dict[str, Resource]],
                 documents: list[Resource]) -> list[Resource]:
        """Observations and DiagnosticReports the Claim cites, the reports' results, and what documents cite."""
        found = _Found()
        candidates = [*cited.get("DiagnosticReport", {}).values(), *cited.get("Observation", {}).values(),
                      *ctx.observations.values()]
        for document in documents:
            candidates.extend(self._section_entries(document))
        for resource in candidates:
            if resource.get("resourceType") in ("Observation", "DiagnosticReport"):
                found.add(resource)
            for result in resource.get("result") or []:
                found.add(self.read(reference_of(result)))
        return found.list()

    def _section_entries(self, document: Resource) -> list[Resource]:
        sections, entries = list(document.get("section") or []), []
        while sections:
            section = sections.pop()
            sections.extend(section.get("section") or [])
            entries.extend(filter(None, (self.read(reference_of(entry)) for entry in section.get("entry") or [])))
        return entries

    # --- drugs, places, roles -------------------------------------------------------------------------------

    def _medications(self, charge_items: list[Resource], encounters: list[str],
                     cited: dict[str, dict[str, Resource]]) -> list[Resource]:
        """What the billed ChargeItems name as their service, the prescriptions behind it, and the encounter's
        orders and dispenses for a billed product."""
        found = _Found()
        for resource_type in ("MedicationRequest", "MedicationDispense", "Medication"):
            for resource in cited.get(resource_type, {}).values():
                found.add(resource)
        billed_refs = {reference_of(item.get("productReference")) for item in charge_items} - {None}
        billed_codes = set().union(*(_codes(item.get("productCodeableConcept")) for item in charge_items))
        for item in charge_items:
            for service in item.get("service") or []:
                found.add(self.read(reference_of(service)))
            found.add(self.read(reference_of(item.get("productReference"))))
        # the encounter's orders and dispenses are searched only when a product is billed: none can match else
        for encounter in encounters if billed_refs or billed_codes else ():
            for resource_type, parameter in (("MedicationRequest", "encounter"), ("MedicationDispense", "context")):
                for resource in self.search(resource_type, [(parameter, encounter)]):
                    if not _withdrawn(resource) and _is_billed(resource, billed_refs, billed_codes):
                        found.add(resource)
        for dispense in [r for r in found.list() if r["resourceType"] == "MedicationDispense"]:
            for prescription in dispense.get("authorizingPrescription") or []:
                found.add(self.read(reference_of(prescription)))
        return [r for r in found.list() if r["resourceType"] not in ("Observation", "DiagnosticReport")]

    def _places_and_roles(self, ctx: ClaimContext, encounters: list[Resource],
                          cited: dict[str, dict[str, Resource]]) -> list[Resource]:
        references = [reference_of(ctx.claim.get("facility"))]
        references += [reference_of(member.get("provider")) for member in ctx.claim.get("careTeam") or []]
        for encounter in encounters:
            references += [reference_of(place.get("location")) for place in encounter.get("location") or []]
            references += [reference_of(p.get("individual")) for p in encounter.get("participant") or []]
        found = _Found()
        for reference in references:
            if reference and reference.split("/")[-2:-1] in (["Location"], ["PractitionerRole"]):
                found.add(self.read(reference))
        for resource_type in ("Location", "PractitionerRole"):
            for resource in cited.get(resource_type, {}).values():
                found.add(resource)
        return found.list()

    def _cited(self, claim: Resource) -> dict[str, dict[str, Resource]]:
        """What `Claim.supportingInfo` references, by type then reference."""
        cited: dict[str, dict[str, Resource]] = {}
        for info in claim.get("supportingInfo") or []:
            reference = reference_of(info.get("valueReference"))
            resource = self.read(reference)
            if resource and resource.get("resourceType") in CITABLE:
                cited.setdefault(resource["resourceType"], {})[reference] = resource
        return cited


class _Found:
    """Resources in the order first found, each once."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Resource] = {}

    def add(self, resource: Resource | None) -> None:
        if resource and resource.get("id"):
            self._by_key.setdefault((resource["resourceType"], resource["id"]), resource)

    def list(self) -> list[Resource]:
        return list(self._by_key.values())


def _codes(concept: Any) -> set[str]:
    """The codes of a CodeableConcept, normalised (ICD codes are written with and without the dot)."""
    if not isinstance(concept, dict):
        return set()
    return {str(c["code"]).replace(".", "").upper() for c in concept.get("coding") or []
            if isinstance(c, dict) and c.get("code")}


def _withdrawn(resource: Resource) -> bool:
    verification = {c.get("code") for c in (resource.get("verificationStatus") or {}).get("coding") or []}
    return resource.get("status") == ENTERED_IN_ERROR or ENTERED_IN_ERROR in verification


def _is_billed(resource: Resource, billed_refs: set[str | None], billed_codes: set[str]) -> bool:
    return (reference_of(resource.get("medicationReference")) in billed_refs
            or bool(_codes(resource.get("medicationCodeableConcept")) & billed_codes))
