"""The claim file: what a complete JKN claim carries beside the Claim (docs/prechecks.md, "Data conventions").

- documents: DocumentReference / Composition linked from `Claim.supportingInfo` (category `attachment`), or whose
  `context.encounter` is the claim's Encounter; typed by LOINC (18842-5 discharge summary, 34108-1 outpatient
  note, 11504-8 operation note, 28570-0 procedure note) or by this server's claim-document-type CodeSystem
  (traffic-accident letter, thalassaemia certificate);
- results: DiagnosticReport / Observation linked from supportingInfo (category `info`), plus Procedure and
  MedicationAdministration linked there as proof that a therapy was given;
- charge items (from the Invoice and the Account) and the MedicationRequests they name in `supportingInformation`;
- the billed codes with no recorded Condition / Procedure (`evidence.Gap`).

`gather_record` reads it as the signed Bundle's evidence does (`claims/evidence.py`, one reader of the medical
record) through any `read` / `search` pair, so the store (`$precheck` and the pipeline), a Bundle (`$precheck` of a
Bundle) and the benchmark corpus feed the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fhirclaim.claims.claim_context import ClaimContext, reference_of
from fhirclaim.claims.evidence import Gap, MedicalRecord, Read, Search
from fhirclaim.claims.fhirvalues import codings

Resource = dict[str, Any]
LOINC = "http://loinc.org"
DOCUMENT_TYPE = "https://fhirclaim.org/fhir/CodeSystem/claim-document-type"
WARD_CLASS = "https://fhirclaim.org/fhir/CodeSystem/ward-class"
ATTACHMENTS = "Claim.supportingInfo.where(category.coding.code='attachment')"
INFOS = "Claim.supportingInfo.where(category.coding.code='info')"
DOCUMENT_TYPES = ("DocumentReference", "Composition")
RESULT_TYPES = ("DiagnosticReport", "Observation")
THERAPY_TYPES = ("Procedure", "MedicationAdministration")


@dataclass(frozen=True)
class Linked:
    """A resource of the claim file and where the claim names it (a FHIRPath, or the resource's own reference)."""

    resource: Resource
    expression: str

    @property
    def reference(self) -> str:
        return f"{self.resource.get('resourceType')}/{self.resource.get('id')}"

    def codes(self, system: str) -> set[str]:
        """The resource's type codes (documents) or codes (results, procedures) of `system`."""
        concept = self.resource.get("type") if self.resource.get("resourceType") in DOCUMENT_TYPES \
            else self.resource.get("code") or self.resource.get("medicationCodeableConcept")
        return {c.get("code") for _, c in codings(concept) if c.get("system") == system and c.get("code")}


@dataclass(frozen=True)
class ClaimRecord:
    documents: tuple[Linked, ...] = ()
    results: tuple[Linked, ...] = ()
    therapies: tuple[Linked, ...] = ()
    charge_items: tuple[Resource, ...] = ()
    prescriptions: dict[str, Resource] = field(default_factory=dict)  # MedicationRequest by reference
    gaps: tuple[Gap, ...] = ()  # billed codes with no recorded Condition / Procedure

    def documents_of(self, *, loinc: Iterable[str] = (), own: Iterable[str] = ()) -> list[Linked]:
        loinc, own = set(loinc), set(own)
        return [d for d in self.documents if d.codes(LOINC) & loinc or d.codes(DOCUMENT_TYPE) & own]

    def results_of(self, loinc: Iterable[str]) -> list[Linked]:
        wanted = set(loinc)
        return [r for r in self.results if r.codes(LOINC) & wanted]


def gather_record(ctx: ClaimContext, read: Read, search: Search, charge_items: Iterable[Resource]) -> ClaimRecord:
    """The claim file as the signed Bundle's evidence finds it: the documents of the encounter and those the Claim
    cites, and the billed codes the record lacks."""
    items = list(charge_items)
    evidence = MedicalRecord(read, search).evidence(ctx, items)
    return read_record(ctx, read, items, evidence.documents, evidence.gaps)


def read_record(ctx: ClaimContext, get: Callable[[str | None], Resource | None], charge_items: Iterable[Resource],
                encounter_documents: Iterable[Resource], gaps: Iterable[Gap] = ()) -> ClaimRecord:
    """The claim file from supportingInfo links (resolved with `get`), the billed charge items and the documents
    that name the claim's Encounter."""
    documents: dict[str, Linked] = {}
    results: list[Linked] = []
    therapies: list[Linked] = []
    for index, info in enumerate(ctx.claim.get("supportingInfo") or []):
        target = get(reference_of(info.get("valueReference"))) if isinstance(info, dict) else None
        kind = (target or {}).get("resourceType")
        linked = Linked(target, f"Claim.supportingInfo[{index}].valueReference") if target else None
        if linked and kind in DOCUMENT_TYPES:
            documents.setdefault(linked.reference, linked)
        elif linked and kind in RESULT_TYPES:
            results.append(linked)
        elif linked and kind in THERAPY_TYPES:
            therapies.append(linked)
    for document in encounter_documents:
        linked = Linked(document, f"{document.get('resourceType')}/{document.get('id')}")
        if document.get("status") not in ("entered-in-error", "superseded"):
            documents.setdefault(linked.reference, linked)
    items = tuple(charge_items)
    prescriptions = {}
    for item in items:
        for reference in (reference_of(r) for r in item.get("supportingInformation") or []):
            found = get(reference) if reference and "MedicationRequest/" in reference else None
            if found:
                prescriptions[reference] = found
    return ClaimRecord(tuple(documents.values()), tuple(results), tuple(therapies), items, prescriptions,
                       tuple(gaps))


def names_encounter(resource: Resource, encounter: Resource | None) -> bool:
    """A DocumentReference / Composition written for `encounter` (context.encounter or Composition.encounter)."""
    return bool(encounter) and refers_to(resource, f"Encounter/{(encounter or {}).get('id')}")


def refers_to(resource: Resource, reference: str) -> bool:
    """`resource` names `reference` (relative or absolute) in a top-level element or one level below it
    (`encounter`, `context`, `DocumentReference.context.encounter`)."""
    tail = "/".join(reference.rstrip("/").split("/")[-2:])
    found: list[Any] = []
    for value in resource.values():
        found.extend(value if isinstance(value, list) else [value])
        if isinstance(value, dict):
            for inner in value.values():
                found.extend(inner if isinstance(inner, list) else [inner])
    return any(r and (r == tail or r.endswith("/" + tail)) for r in map(reference_of, found))
