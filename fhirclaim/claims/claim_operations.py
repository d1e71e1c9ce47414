"""Claim/$submit, $submit-status, $precheck and $print, as plain functions of the store and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhirclaim.claims.assembly import RecentEpisodes, StoreClaimHistory
from fhirclaim.claims.claim_context import TenantClaimSettings
from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.claims.mapping import nomor_sep
from fhirclaim.claims.pipeline import derived_id
from fhirclaim.claims.precheck import precheck
from fhirclaim.claims.rules import gathering
from fhirclaim.claims.trigger import Rerun, claim_tenant, rerun_failed
from fhirclaim.fhir import dates
from fhirclaim.fhir.outcome import FhirError, information, operation_outcome, warning
from fhirclaim.interactions.service import FhirService
from fhirclaim.store import jobs
from fhirclaim.store.jobs import Job
from fhirclaim.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SubmissionResult:
    pending: bool
    body: dict[str, Any]


def latest_job(uow: UnitOfWork, claim_id: str) -> Job | None:
    """The latest job of the Claim this caller means by `claim_id` (ids are unique per tenant)."""
    return uow.jobs.latest_for_claim(claim_id, claim_tenant(uow, uow.resources.find("Claim", claim_id)))


def resubmit(uow: UnitOfWork, claim_id: str, timezone: str) -> Rerun:
    """$submit of a stored Claim, and the web app's "resubmit": a claim that ended in error runs again when what it
    rests on changed since its last run (`trigger.rerun_failed`); `Rerun.job` is the job to wait for, and
    `Rerun.outcome` UNCHANGED says that nothing changed since the last run."""
    return rerun_failed(uow, claim_id, timezone)


def as_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """A PAS-style collection Bundle (the Claim and what it rests on) as the transaction that stores it."""
    if bundle.get("type") == "transaction":
        return bundle
    entries = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        kind, resource_id = resource.get("resourceType"), resource.get("id")
        request = {"method": "PUT", "url": f"{kind}/{resource_id}"} if resource_id else {"method": "POST",
                                                                                          "url": kind}
        entries.append({**{k: v for k, v in entry.items() if k in ("fullUrl", "resource")}, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def claim_of(service: FhirService, answer: dict[str, Any]) -> dict[str, Any]:
    """The Claim a transaction stored (the first one), read back."""
    for entry in answer.get("entry") or []:
        location = (entry.get("response") or {}).get("location") or ""
        if "/Claim/" in location:
            claim_id = location.split("/Claim/", 1)[1].split("/", 1)[0]
            return service.read("Claim", claim_id).content
    raise FhirError.of(400, "required", "The Bundle holds no Claim to submit")


def result(service: FhirService, claim_id: str, base: str) -> SubmissionResult:
    """The answer of $submit: a collection Bundle, the grouping ClaimResponse first (202 while the job runs)."""
    claim = service.read("Claim", claim_id).content
    job = latest_job(service.uow, claim_id)
    if job is not None and job.status not in jobs.TERMINAL:
        note = f"claim job {job.id} is {job.status}" + (f" (last: {job.last_error})" if job.last_error else "")
        return SubmissionResult(True, operation_outcome([information(f"In progress: {note}")]))
    resources = [
        service.resources.find("ClaimResponse", derived_id("grouping", claim_id)),
        service.resources.find("Claim", claim_id),
        service.resources.find("Bundle", derived_id("bundle", claim_id)),
    ]
    entries = [{"fullUrl": f"{base}/{s.resource_type}/{s.id}", "resource": s.content}
               for s in resources if s is not None and not s.deleted]
    if resources[0] is None:  # nothing to group: an unchanged resend of a claim never processed, or not `claim`
        entries.insert(0, {"resource": operation_outcome([warning(
            "informational", f"Claim {claim['id']} (use {claim.get('use')}) has not been grouped")])})
    return SubmissionResult(False, {"resourceType": "Bundle", "type": "collection",
                                    "timestamp": dates.instant(dates.now_utc()), "entry": entries})


def precheck_outcome(uow: UnitOfWork, body: dict[str, Any], tenant: TenantClaimSettings) -> dict[str, Any]:
    """$precheck: every finding of architecture §9 for a Claim (its references resolved on the server) or for the
    Claim of a Bundle (resolved in the Bundle first), with its claim file and history; nothing written."""
    claim = gathering.claim_in(body)
    gathering.well_formed(body)
    assembler = gathering.assembler_for(body, uow.resources, tenant.timezone)
    ctx = assembler.context(claim, with_record=True)
    history = RecentEpisodes(StoreClaimHistory(assembler), ctx, tenant.timezone)
    return operation_outcome(precheck(ctx, history, tenant, with_mapping=True))


def print_claim(gateway: EKlaimGateway, claim: dict[str, Any]) -> bytes:
    sep = nomor_sep(claim)
    if not sep:
        raise FhirError.of(422, "required", "The Claim has no SEP number, so E-Klaim has nothing to print",
                           "Claim.insurance.identifier")
    return gateway.print_claim(sep)
