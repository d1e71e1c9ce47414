"""What a claim rests on, as plain FHIR JSON, and the tenant settings E-Klaim needs besides.

The pipeline resolves the Claim's references (see `claim_references`) and hands the resources over in a
`ClaimContext`; mapping and prechecks are pure functions of it, so they run the same in a request, a worker job
or a test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fhirclaim.claims import systems

if TYPE_CHECKING:
    from fhirclaim.claims.rules.record import ClaimRecord

Resource = dict[str, Any]


@dataclass(frozen=True)
class ClaimContext:
    """Every resource the claim rests on, as plain FHIR JSON dicts (None when absent or not resolvable)."""

    claim: Resource
    patient: Resource | None
    encounter: Resource | None
    coverage: Resource | None
    practitioners: Mapping[str, Resource]  # by reference, "Practitioner/123"
    invoice: Resource | None = None
    account: Resource | None = None
    organization: Resource | None = None  # the provider
    # Claim.diagnosis[].diagnosisReference / Claim.procedure[].procedureReference targets, by reference.
    conditions: Mapping[str, Resource] = field(default_factory=dict)
    procedures: Mapping[str, Resource] = field(default_factory=dict)
    # E-Klaim 5.10 reads more of the record: the billed ChargeItems (tarif_rs breakdown) and the Encounter's
    # Observations (blood pressure, APGAR, obstetric history), by reference. Empty when the caller has none.
    charge_items: Mapping[str, Resource] = field(default_factory=dict)
    observations: Mapping[str, Resource] = field(default_factory=dict)
    # The claim file the claim-file prechecks read (documents, results, gaps in the record); None when the caller
    # did not gather it (`ClaimAssembler.context(claim, with_record=True)` does).
    record: ClaimRecord | None = None
    # `facts.read_facts` of this context by time zone: read once, though the history, the precheck and the mapping
    # each ask (issue 17: 5 readings per claim job). Not an init field, so `dataclasses.replace` starts afresh.
    facts_read: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def practitioner(self, reference: str | None) -> Resource | None:
        return lookup(self.practitioners, reference)


@dataclass(frozen=True)
class TenantClaimSettings:
    """Per-hospital E-Klaim values that are not in the FHIR data (architecture §4 last row, §8)."""

    kode_tarif: str = "BP"
    payor_id: str = "3"
    payor_cd: str = "JKN"
    timezone: str = "Asia/Jakarta"
    precheck_errors: tuple[str, ...] = ()  # precheck warnings that stop this hospital's claims (rule ids)


@dataclass(frozen=True)
class ClaimReferences:
    """The references a Claim makes that the pipeline must resolve to build a `ClaimContext`."""

    patient: str | None
    encounter: str | None
    coverage: str | None
    invoice: str | None
    organization: str | None
    practitioners: tuple[str, ...]
    conditions: tuple[str, ...]
    procedures: tuple[str, ...]


def rests_on(ctx: ClaimContext) -> tuple[str, ...]:
    """"Type/id/_history/n" of every resource the claim rests on besides the Claim itself (the claim file's too,
    when gathered): what a claim job read, so that a change of any of them can run a failed claim again."""
    found: list[Any] = [ctx.patient, ctx.encounter, ctx.coverage, ctx.invoice, ctx.account, ctx.organization]
    for group in (ctx.practitioners, ctx.conditions, ctx.procedures, ctx.charge_items, ctx.observations):
        found.extend(group.values())
    record = getattr(ctx, "record", None)
    for group in ("documents", "results", "therapies", "charge_items"):
        found.extend(getattr(item, "resource", item) for item in getattr(record, group, None) or ())
    found.extend((getattr(record, "prescriptions", None) or {}).values())
    versions = {f"{r['resourceType']}/{r['id']}/_history/{(r.get('meta') or {}).get('versionId', '')}"
                for r in found if isinstance(r, dict) and r.get("resourceType") and r.get("id")}
    return tuple(sorted(versions))


def by_reference(resources: Iterable[Resource | None]) -> dict[str, Resource]:
    """`{"Type/id": resource}`, as `ClaimContext` holds what it is handed (e.g. `charge_items`, `observations`)."""
    return {f"{r['resourceType']}/{r['id']}": r for r in resources
            if isinstance(r, dict) and r.get("resourceType") and r.get("id")}


def lookup(resources: Mapping[str, Resource], reference: str | None) -> Resource | None:
    """Find a referenced resource whether the reference is relative, absolute or a bare `Type/id` tail."""
    if not reference:
        return None
    if reference in resources:
        return resources[reference]
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2:
        tail = "/".join(parts[-2:])
        if tail in resources:
            return resources[tail]
        if len(parts) >= 4 and parts[-2] == "_history":
            return resources.get("/".join(parts[-4:-2]))
    return None


def reference_of(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return value["reference"]
    return None


def focal_insurance(claim: Resource) -> tuple[int, dict[str, Any]] | None:
    """The insurance entry E-Klaim is billed to: the focal one, else the first (index kept for FHIRPath)."""
    insurance = [i for i in claim.get("insurance") or [] if isinstance(i, dict)]
    for index, entry in enumerate(insurance):
        if entry.get("focal") is True:
            return index, entry
    return (0, insurance[0]) if insurance else None


def encounter_reference(claim: Resource) -> str | None:
    """SATUSEHAT names the Encounter in supportingInfo (category `encounter`); R4 also allows item.encounter."""
    ref = _supporting_reference(claim, "encounter")
    if ref:
        return ref
    for item in claim.get("item") or []:
        for enc in item.get("encounter") or []:
            ref = reference_of(enc)
            if ref:
                return ref
    return None


def invoice_reference(claim: Resource) -> str | None:
    return _supporting_reference(claim, "invoice")


def _supporting_reference(claim: Resource, category: str) -> str | None:
    """The first reference of a supportingInfo entry of the Kemenkes `category` (encounter, invoice)."""
    for info in claim.get("supportingInfo") or []:
        for coding in (info.get("category") or {}).get("coding") or []:
            if coding.get("system") == systems.KEMKES_INFO_CATEGORY and coding.get("code") == category:
                ref = reference_of(info.get("valueReference"))
                if ref:
                    return ref
    return None


def claim_references(claim: Resource, encounter: Resource | None = None) -> ClaimReferences:
    """What to fetch for `ClaimContext`: each reference once, in the order the Claim names them.

    Call it again with the fetched Encounter to add its participants: the attending doctor recorded there is the
    DPJP when the Claim's careTeam names none.
    """
    insurance = focal_insurance(claim)
    practitioners = [reference_of(member.get("provider")) for member in claim.get("careTeam") or []]
    practitioners.append(reference_of(claim.get("enterer")))
    if encounter:
        practitioners.extend(reference_of(p.get("individual")) for p in encounter.get("participant") or [])
    return ClaimReferences(
        patient=reference_of(claim.get("patient")),
        encounter=encounter_reference(claim),
        coverage=reference_of(insurance[1].get("coverage")) if insurance else None,
        invoice=invoice_reference(claim),
        organization=reference_of(claim.get("provider")),
        practitioners=_unique(r for r in practitioners if r and "Practitioner/" in r),
        conditions=_unique(reference_of(d.get("diagnosisReference")) for d in claim.get("diagnosis") or []),
        procedures=_unique(reference_of(p.get("procedureReference")) for p in claim.get("procedure") or []),
    )


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
