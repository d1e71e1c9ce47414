"""What BPJS-K reads from a signed claim Bundle: the claim's facts (the same reading E-Klaim's mapping and the
prechecks use), the patient's BPJS card number, the INA-CBG package and the patient's excess.

BPJS-K sees the hospital's data only as the Bundle carries it, so everything here is read from the Bundle's own
entries, never from the store: a hospital that changes a resource after publishing does not change what it claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhirclaim.claims import systems
from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.claims.claim_context import ClaimContext
from fhirclaim.claims.facts import ClaimFacts, read_facts
from fhirclaim.claims.fhirvalues import decimal
from fhirclaim.claims.precheck import PastEpisode
from fhirclaim.claims.rules.record import DOCUMENT_TYPES, ClaimRecord, names_encounter, read_record

Resource = dict[str, Any]
GROUPING = (systems.CLAIMRESPONSE_SUBTYPE, "grouping")


@dataclass(frozen=True)
class SubmittedClaim:
    """One claim as BPJS-K received it."""

    bundle_id: str
    claim: Resource
    facts: ClaimFacts
    package_total: int  # INA-CBG: the CBG tariff plus every additional package (special CMG, sub-acute, chronic)
    add_payment_amt: int  # the patient's share of a class upgrade, as the grouping ClaimResponse states it
    ctx: ClaimContext | None = None  # the resources the Claim rests on, as the Bundle carries them
    record: ClaimRecord = field(default_factory=ClaimRecord)  # the claim file the Bundle carries (documents ...)

    @property
    def claim_id(self) -> str:
        return self.claim["id"]

    @property
    def sep(self) -> str | None:
        return self.facts.nomor_sep

    @property
    def card(self) -> str | None:
        """The BPJS card number: how BPJS-K knows a patient across hospitals (each has its own Patient)."""
        return self.facts.nomor_kartu

    @property
    def episode(self) -> PastEpisode | None:
        """This claim as another claim's history sees it (None when it has no usable stay)."""
        facts = self.facts
        if not (facts.nomor_sep and facts.jenis_rawat and facts.admission and facts.discharge):
            return None
        principal = next((d.code for d in facts.diagnoses if d.principal), None)
        return PastEpisode(facts.nomor_sep, facts.jenis_rawat, facts.admission, facts.discharge, principal)


def is_claim_bundle(bundle: Resource | None) -> bool:
    """A signed collection Bundle holding a Claim: what the pipeline publishes to BPJS-K (architecture §6)."""
    return bool(bundle and bundle.get("resourceType") == "Bundle" and bundle.get("type") == "collection"
                and bundle.get("signature") and _of_type(bundle, "Claim"))


def read_submission(bundle: Resource, timezone: str) -> SubmittedClaim:
    """The claim a signed claim Bundle carries (`is_claim_bundle` must hold)."""
    claim = _of_type(bundle, "Claim")[0]
    assembler = ClaimAssembler(_BundleEntries(bundle), timezone)  # type: ignore[arg-type]
    ctx = assembler.context(claim)
    facts = read_facts(ctx, timezone)
    grouping = next((r for r in _of_type(bundle, "ClaimResponse") if _is_grouping(r, claim["id"])), None)
    documents = [r for kind in DOCUMENT_TYPES for r in _of_type(bundle, kind) if names_encounter(r, ctx.encounter)]
    record = read_record(ctx, assembler.get, assembler.charge_items(ctx), documents)
    return SubmittedClaim(bundle["id"], claim, facts, package_total(claim), excess(grouping) if grouping else 0,
                          ctx, record)


def documents_in(bundle_claim: SubmittedClaim, loinc: str) -> list[Resource]:
    """The documents of a LOINC type the claim file carries, whichever Encounter they were written for (a
    confirmation of a readmission carries the earlier episode's resume)."""
    return [d.resource for d in bundle_claim.record.documents_of(loinc=[loinc])]


def package_total(claim: Resource) -> int:
    """The INA-CBG total of a Claim's Kemenkes Package extension: basePackage plus every additionalPackage."""
    total = 0
    for package in claim.get("extension") or []:
        if package.get("url") != systems.PACKAGE_EXT:
            continue
        for part in package.get("extension") or []:
            if part.get("url") in ("basePackage", "additionalPackage"):
                values = [p.get("valueInteger", p.get("valueDecimal")) for p in part.get("extension") or []
                          if p.get("url") == "value"]
                total += sum(int(decimal(v) or 0) for v in values)
    return total


def excess(response: Resource) -> int:
    """The patient's share a ClaimResponse states: the sum of its item adjudications of category copay."""
    amounts: list[Decimal] = []
    for item in response.get("item") or []:
        for adjudication in item.get("adjudication") or []:
            codes = (adjudication.get("category") or {}).get("coding") or []
            if any(c.get("code") == "copay" and c.get("system") in (None, systems.ADJUDICATION) for c in codes):
                amounts.append(decimal((adjudication.get("amount") or {}).get("value")) or Decimal(0))
    return int(sum(amounts, Decimal(0)))


def _is_grouping(response: Resource, claim_id: str) -> bool:
    codes = ((response.get("subType") or {}).get("coding")) or []
    return (any((c.get("system"), c.get("code")) == GROUPING for c in codes)
            and (response.get("request") or {}).get("reference") == f"Claim/{claim_id}")


def _of_type(bundle: Resource, resource_type: str) -> list[Resource]:
    return [e["resource"] for e in bundle.get("entry") or []
            if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == resource_type]


@dataclass(frozen=True)
class _Entry:
    content: Resource
    deleted: bool = False

    @property
    def reference(self) -> str:
        return f"{self.content['resourceType']}/{self.content['id']}"


class _BundleEntries:
    """The Bundle's entries behind the one repository method `ClaimAssembler` reads through (`find`), so the claim
    is assembled from what the hospital signed exactly as the pipeline assembled it from the store."""

    def __init__(self, bundle: Resource):
        self._by_key = {(r["resourceType"], r["id"]): r for e in bundle.get("entry") or []
                        if isinstance(r := e.get("resource"), dict) and r.get("id")}

    def find(self, resource_type: str, resource_id: str) -> _Entry | None:
        found = self._by_key.get((resource_type, resource_id))
        return _Entry(found) if found is not None else None

    def search_all(self, request, limit: int = 1000) -> list[_Entry]:
        """The entries of a type whose reference parameters (`ChargeItem?account=…`, `Observation?encounter=…`)
        name the searched targets: the assembler's searches, answered from the Bundle alone."""
        found = [_Entry(r) for (kind, _), r in self._by_key.items()
                 if kind == request.resource_type and all(_refers(r, c) for c in request.criteria)]
        return found[:limit]


def _refers(resource: Resource, criterion) -> bool:
    """Whether the element named like the search parameter refers to one of the criterion's targets."""
    value = resource.get(criterion.param.name)
    references = [v.get("reference") for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]
    targets = {f"{v.target_type}/{v.code}" if v.target_type else v.code for v in criterion.values}
    return any(isinstance(ref, str) and "/".join(ref.split("/")[-2:]) in targets for ref in references)
