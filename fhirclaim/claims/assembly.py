"""What a Claim rests on, gathered from the store: the `ClaimContext` for mapping and prechecks, the patient's
claim history for the pending-claim rules, and the resources the signed Bundle carries (architecture §6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhirclaim.claims.claim_context import ClaimContext, by_reference, claim_references, reference_of
from fhirclaim.claims.evidence import Evidence, MedicalRecord
from fhirclaim.claims.facts import read_facts
from fhirclaim.claims.precheck import PastEpisode
from fhirclaim.claims.rules.record import ClaimRecord, gather_record, read_record
from fhirclaim.claims.server_fields import PROCESSING_EXT
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.lookups import lookup
from fhirclaim.store.repository import SqlResourceRepository

Resource = dict[str, Any]
WITHDRAWN = ("cancelled", "entered-in-error")


@dataclass(frozen=True)
class BundleRecord:
    """What the signed Bundle carries besides the `ClaimContext`: the Invoices, the ChargeItems they and the Account
    bill, and the medical record behind the billed codes (`evidence.py`)."""

    invoices: list[Resource]
    charge_items: list[Resource]
    evidence: Evidence


class ClaimAssembler:
    """Reads, through one repository (and so within its tenant scope), everything a Claim points at.

    `remember`: each reference is read once (the context, the claim file and the Bundle's evidence read the
    Encounter, the Invoice, documents and reports again: 7 of a 5.10 claim's 29 reads, issue 17) — for a reading
    in one unit of work that writes nothing meanwhile, as a claim job's first one (`ClaimPipeline._run_steps`)."""

    def __init__(self, resources: SqlResourceRepository, timezone: str, *, remember: bool = False):
        self.resources = resources
        self.timezone = timezone
        self._read: dict[str, Resource | None] | None = {} if remember else None

    def get(self, reference: str | None) -> Resource | None:
        if self._read is not None and reference in self._read:
            return self._read[reference]
        target = parse_reference(reference) if reference else None
        if target is None:
            return None
        stored = self.resources.find(*target)
        content = stored.content if stored and not stored.deleted else None
        if self._read is not None:
            self._read[reference] = content
        return content

    def _prefetch(self, references: Iterable[str | None]) -> None:
        """Read in one statement (`store.lookups.lookup`) what `get` is about to read one at a time: when it
        remembers, and where `lookup` answers as `find` does (not BPJS-K's scopes, whose `find` answers what was
        disclosed). A reference `lookup` found nothing for is left to `get`."""
        if self._read is None or not isinstance(self.resources, SqlResourceRepository):
            return
        scope = self.resources.scope
        if scope.disclosed_only or scope.current_disclosed:
            return
        targets: dict[tuple[str, str], list[str]] = {}
        for reference in references:
            if reference and reference not in self._read and (target := parse_reference(reference)) is not None:
                targets.setdefault(target, []).append(reference)
        if len(targets) < 2:
            return
        found = lookup(self.resources, targets).found
        for target, named in targets.items():
            if target in found:
                stored = found[target]
                for reference in named:
                    self._read[reference] = None if stored.deleted else stored.content

    def context(self, claim: Resource, *, with_record: bool = False, billed: bool = True) -> ClaimContext:
        """What the claim rests on; `with_record` adds the claim file the claim-file prechecks read (the pipeline's
        and `$precheck`'s precheck; not needed for the history's other claims); `billed=False` leaves out the
        ChargeItems and the Encounter's Observations (two searches the history's facts do not read)."""
        refs = claim_references(claim)
        self._prefetch((refs.encounter, refs.invoice, refs.patient, refs.coverage, refs.organization,
                        *refs.practitioners, *refs.conditions, *refs.procedures))
        encounter = self.get(refs.encounter)
        refs = claim_references(claim, encounter)  # the Encounter's attending doctor may be the DPJP
        invoice = self.get(refs.invoice)
        accounts = (encounter or {}).get("account") or []
        account_ref = reference_of(accounts[0]) if accounts else reference_of((invoice or {}).get("account"))
        self._prefetch((account_ref, *refs.practitioners))
        ctx = ClaimContext(
            claim=claim,
            patient=self.get(refs.patient),
            encounter=encounter,
            coverage=self.get(refs.coverage),
            practitioners=self._all(refs.practitioners),
            invoice=invoice,
            account=self.get(account_ref),
            organization=self.get(refs.organization),
            conditions=self._all(refs.conditions),
            procedures=self._all(refs.procedures),
        )
        if not billed:
            return ctx
        # E-Klaim 5.10's tarif_rs breakdown and vital signs (docs/eklaim-5.10-fields.md) read these two
        ctx = dataclasses.replace(ctx, charge_items=by_reference(self.charge_items(ctx)),
                                  observations=by_reference(self._encounter_observations(encounter)))
        return dataclasses.replace(ctx, record=self.claim_record(ctx)) if with_record else ctx

    def claim_record(self, ctx: ClaimContext) -> ClaimRecord:
        """The claim file (docs/prechecks.md), read as the signed Bundle's evidence is (`evidence.py`)."""
        return gather_record(ctx, self.get, self.search, ctx.charge_items.values())

    def context_and_bundle_record(self, claim: Resource) -> tuple[ClaimContext, BundleRecord]:
        """`context(claim, with_record=True)` and the signed Bundle's record, from one reading of the medical
        record (a claim job's: its precheck reads the claim file, its Bundle carries the record). The claim file is
        the one `claim_record` gathers: its documents and gaps do not depend on which ChargeItems are billed."""
        ctx = self.context(claim)
        bundled = self.bundle_record(ctx)
        record = read_record(ctx, self.get, ctx.charge_items.values(), bundled.evidence.documents,
                             bundled.evidence.gaps)
        return dataclasses.replace(ctx, record=record), bundled

    def bundle_record(self, ctx: ClaimContext) -> BundleRecord:
        """The Invoices (the Claim's, or the Account's when no supportingInfo names one), the ChargeItems they and
        the Account bill, and the medical record behind the billed codes."""
        invoices = [ctx.invoice] if ctx.invoice else self._account_invoices(ctx.account)
        if ctx.invoice and ctx.charge_items:  # read with the context, from the same Invoice and Account
            charge_items = list(ctx.charge_items.values())
        else:
            charge_items = self.charge_items(dataclasses.replace(ctx, invoice=invoices[0] if invoices else None))
        for invoice in invoices[1:]:
            charge_items += self.charge_items(dataclasses.replace(ctx, invoice=invoice, account=None))
        # what the evidence reads one reference at a time, read together: what supportingInfo cites, the billed
        # items' services and products, the lines' other encounters (issue 17)
        self._prefetch((*(reference_of(info.get("valueReference")) for info in ctx.claim.get("supportingInfo") or []),
                        *(reference_of(service) for item in charge_items for service in item.get("service") or []),
                        *(reference_of(item.get("productReference")) for item in charge_items),
                        *(reference_of(encounter) for line in ctx.claim.get("item") or []
                          for encounter in line.get("encounter") or [])))
        return BundleRecord(invoices, charge_items, MedicalRecord(self.get, self.search).evidence(ctx, charge_items))

    def _encounter_observations(self, encounter: Resource | None) -> list[Resource]:
        if not encounter or not encounter.get("id"):
            return []
        request = parse_search("Observation", [("encounter", f"Encounter/{encounter['id']}")])
        return [stored.content for stored in self.resources.search_all(request, limit=500)]

    def charge_items(self, ctx: ClaimContext) -> list[Resource]:
        """The ChargeItems billed: those the Invoice lists, and those booked on the Account."""
        found: dict[str, Resource] = {}
        self._prefetch(reference_of(line.get("chargeItemReference")) for line in (ctx.invoice or {}).get("lineItem")
                       or [])
        for line in (ctx.invoice or {}).get("lineItem") or []:
            reference = reference_of(line.get("chargeItemReference"))
            item = self.get(reference)
            if item:
                found[f"ChargeItem/{item['id']}"] = item
        if ctx.account:
            request = parse_search("ChargeItem", [("account", f"Account/{ctx.account['id']}")])
            for stored in self.resources.search_all(request, limit=5000):
                found.setdefault(stored.reference, stored.content)
        return list(found.values())

    def bundle_resources(self, ctx: ClaimContext, claim_response: Resource | None,
                         record: BundleRecord | None = None) -> list[Resource]:
        """Every resource the claim rests on, each once, the Claim first (architecture §6): the financing
        resources, and the medical record behind every billed code (`evidence.py`), reached through the Encounter
        and the Account even when the Claim does not reference them. `record`: as read with `ctx` (a claim job's
        one reading, `context_and_bundle_record`); read now when not given."""
        record = record or self.bundle_record(ctx)
        invoices, charge_items, evidence = record.invoices, record.charge_items, record.evidence
        resources: list[Resource | None] = [
            signed_content(ctx.claim), ctx.patient, ctx.coverage, ctx.account, ctx.encounter,
            *ctx.conditions.values(), *ctx.procedures.values(), *evidence.resources(), *invoices, *charge_items,
            *ctx.practitioners.values(), ctx.organization, evidence.gaps_outcome(ctx.claim["id"]), claim_response,
        ]
        unique: dict[tuple[str, str], Resource] = {}
        for resource in resources:
            if resource:
                unique.setdefault((resource["resourceType"], resource["id"]), resource)
        return list(unique.values())

    def search(self, resource_type: str, parameters: list[tuple[str, str]]) -> list[Resource]:
        """Live resources of `resource_type` matching `parameters`, within the repository's tenant scope."""
        request = parse_search(resource_type, parameters)
        return [stored.content for stored in self.resources.search_all(request, limit=1000) if not stored.deleted]

    def _account_invoices(self, account: Resource | None) -> list[Resource]:
        """The Account's Invoices when no supportingInfo names one (SATUSEHAT links them through Invoice.account)."""
        if not account:
            return []
        invoices = self.search("Invoice", [("account", f"Account/{account['id']}")])
        return [invoice for invoice in invoices if invoice.get("status") not in WITHDRAWN]

    def _all(self, references: Iterable[str]) -> dict[str, Resource]:
        found = {}
        for reference in references:
            resource = self.get(reference)
            if resource:
                found[reference] = resource
        return found


def signed_content(claim: Resource) -> Resource:
    """The Claim as the Bundle signs it: without the server's bookkeeping (the `claim-processing` extension),
    which changes after signing and is no part of what BPJS-K pays against."""
    extensions = [e for e in claim.get("extension") or [] if e.get("url") != PROCESSING_EXT]
    body = {key: value for key, value in claim.items() if key != "extension"}
    return {**body, "extension": extensions} if extensions else body


def signer_of(tenant: str | None, claim: Resource) -> dict[str, Any]:
    """`Signature.who`: the hospital whose job this is (the tenant), never whatever the Claim names as provider;
    the provider's display is kept when it is that hospital. A job without a tenant (a system write) signs as the
    Claim's provider."""
    provider = claim.get("provider") if isinstance(claim.get("provider"), dict) else {}
    if not tenant:
        return provider or {"display": "fhirclaim"}
    who = {"reference": f"Organization/{tenant}"}
    if (reference_of(provider) or "").endswith(f"Organization/{tenant}") and provider.get("display"):
        who["display"] = provider["display"]
    return who


class StoreClaimHistory:
    """The precheck's `ClaimHistory` over the store: the patient's other live claims as episodes."""

    def __init__(self, assembler: ClaimAssembler):
        self.assembler = assembler

    def episodes(self, patient: str, *, start: datetime, end: datetime,
                 known: ClaimContext | None = None) -> Iterator[PastEpisode]:
        """`known`: a claim's context read already (the claim being checked is among its patient's claims)."""
        # By patient only: `use=claim` matches nearly every Claim, and SQL joining it costs more than this filter
        request = parse_search("Claim", [("patient", patient)])
        for stored in self.assembler.resources.search_all(request, limit=500):
            if stored.content.get("use") != "claim" or stored.content.get("status") in WITHDRAWN:
                continue
            if known is not None and known.claim.get("id") == stored.id and known.claim == stored.content:
                ctx = known
            else:
                ctx = self.assembler.context(stored.content, billed=False)  # the facts read no billing
            facts = read_facts(ctx, self.assembler.timezone)
            if not (facts.nomor_sep and facts.admission and facts.discharge and facts.jenis_rawat):
                continue
            if facts.discharge < start or facts.admission > end:
                continue
            principal = next((d.code for d in facts.diagnoses if d.principal), None)
            yield PastEpisode(facts.nomor_sep, facts.jenis_rawat, facts.admission, facts.discharge, principal,
                              claim_id=stored.id)


class RecentEpisodes:
    """The patient's episodes around a claim, read while a unit of work is open, for a precheck that runs after it
    closed (the pipeline calls E-Klaim outside any transaction)."""

    WINDOW = timedelta(days=400)  # wider than any rule looks (readmission: 30 days)

    def __init__(self, history: StoreClaimHistory, ctx: ClaimContext, zone: str):
        self.known: list[PastEpisode] = []
        facts = read_facts(ctx, zone)
        patient = (ctx.claim.get("patient") or {}).get("reference")
        if patient and facts.admission and facts.discharge:
            self.known = list(history.episodes(patient, start=facts.admission - self.WINDOW,
                                               end=facts.discharge + self.WINDOW, known=ctx))

    def episodes(self, patient: str, *, start: datetime, end: datetime) -> list[PastEpisode]:
        return [e for e in self.known if e.discharge >= start and e.admission <= end]
