"""Claim/$submit, $submit-status, $precheck and $print, as plain functions of the FHIR service, the pipeline and
the tenant's claim settings; the HTTP layer checks the caller's role, parses the request, calls one of them and
replies.

Each operation opens its own units of work through `OpenService` (the caller's FHIR service: its tenant scope
and permissions), so that it decides where a transaction ends: $submit stores the claim and commits before its job
runs, and E-Klaim is called outside any database transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from fhirclaim.claims import precheck as prechecks
from fhirclaim.claims.assembly import RecentEpisodes, StoreClaimHistory
from fhirclaim.claims.claim_context import TenantClaimSettings
from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.claims.mapping import nomor_sep
from fhirclaim.claims.pipeline import ClaimPipeline, derived_id
from fhirclaim.claims.pipeline_worker import run_job_within
from fhirclaim.claims.rules import gathering
from fhirclaim.claims.trigger import Rerun, claim_tenant, rerun_failed
from fhirclaim.clock import utc_now
from fhirclaim.fhir import dates, validation
from fhirclaim.fhir.outcome import FhirError, information, operation_outcome, warning
from fhirclaim.interactions import transaction
from fhirclaim.interactions.service import FhirService
from fhirclaim.store import jobs
from fhirclaim.store.jobs import Job
from fhirclaim.store.unit_of_work import UnitOfWork


class OpenService(Protocol):
    """Opens the caller's FHIR service on a unit of work that commits when the block ends without an error."""

    def __call__(self, *, write: bool) -> AbstractContextManager[FhirService]: ...


SettingsOf = Callable[[str | None], TenantClaimSettings]  # a tenant's claim settings
GatewayOf = Callable[[str | None], EKlaimGateway]  # the E-Klaim a tenant's claims go to


@dataclass(frozen=True)
class SubmissionResult:
    """The answer of $submit and $submit-status: `pending` while the claim's job runs (`body` an
    OperationOutcome), else the result Bundle."""

    claim_id: str
    pending: bool
    body: dict[str, Any]


# --- the operations -----------------------------------------------------------------------------------------


def submit(open_service: OpenService, body: dict[str, Any], base: str, *, settings_of: SettingsOf,
           pipeline: ClaimPipeline, wait_seconds: float) -> SubmissionResult:
    """$submit: store the Claim (or the transaction or collection Bundle holding it), rerun it when it ended in
    error and what it rests on changed, run its job within `wait_seconds`, and answer its result."""
    with open_service(write=True) as service:
        claim = store_submission(service, body, base)
        timezone = settings_of(service.uow.scope.tenant).timezone
        job = resubmit(service.uow, claim["id"], timezone).job
    if job is not None and job.status not in jobs.TERMINAL:
        run_job_within(pipeline, job.id, wait_seconds)
    return submit_status(open_service, claim["id"], base)


def submit_status(open_service: OpenService, claim_id: str, base: str) -> SubmissionResult:
    """$submit-status: the result of a submitted claim, or that its job still runs."""
    with open_service(write=False) as service:
        return result(service, claim_id, base)


def precheck(open_service: OpenService, body: dict[str, Any], settings_of: SettingsOf) -> dict[str, Any]:
    """$precheck: the OperationOutcome of every precheck finding (`precheck_outcome`); a bare Claim's shape is
    checked first (400), since the prechecks read a well-formed Claim."""
    if body.get("resourceType") == "Claim":
        validation.raise_for_errors(validation.model_issues("Claim", body), status=400)
    with open_service(write=False) as service:
        return precheck_outcome(service.uow, body, settings_of(service.uow.scope.tenant))


def print_claim(open_service: OpenService, claim_id: str, gateway_of: GatewayOf) -> bytes:
    """$print: E-Klaim's printout (PDF) of a stored Claim, asked of E-Klaim by its SEP number once the read is
    over."""
    with open_service(write=False) as service:
        claim = service.read("Claim", claim_id).content
    sep = nomor_sep(claim)
    if not sep:
        raise FhirError.of(422, "required", "The Claim has no SEP number, so E-Klaim has nothing to print",
                           "Claim.insurance.identifier")
    return gateway_of(service.uow.scope.tenant).print_claim(sep)


# --- their parts --------------------------------------------------------------------------------------------


def store_submission(service: FhirService, body: dict[str, Any], base: str) -> dict[str, Any]:
    """What $submit stores: a Claim (its own id kept, by update-as-create, as the Bundle form's PUT keeps it), or a
    transaction or collection Bundle holding one; returns the stored Claim."""
    if body.get("resourceType") == "Claim":
        if body.get("id"):
            stored, _ = service.update("Claim", body["id"], body)
        else:
            stored, _ = service.create(body, expected_type="Claim")
        return stored.content
    if body.get("resourceType") == "Bundle" and body.get("type") in ("transaction", "collection"):
        _check_entries(body)
        answer = transaction.process(service, as_transaction(body), base)
        return claim_of(service, answer)
    raise FhirError.of(400, "invalid", "Claim/$submit takes a Claim, or a transaction or collection Bundle with one")


def _check_entries(bundle: dict[str, Any]) -> None:
    """The shape `as_transaction` reads: `entry` an array of objects, each `resource` an object."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError.of(400, "structure", "Bundle.entry must be an array", "Bundle.entry")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource", {}), dict):
            raise FhirError.of(400, "structure", f"Bundle.entry[{index}] must be an object with a resource",
                               f"Bundle.entry[{index}]")


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
    """The answer of $submit: a collection Bundle, the grouping ClaimResponse first; pending while the job runs."""
    claim = service.read("Claim", claim_id).content
    job = latest_job(service.uow, claim_id)
    if job is not None and job.status not in jobs.TERMINAL:
        note = f"claim job {job.id} is {job.status}" + (f" (last: {job.last_error})" if job.last_error else "")
        return SubmissionResult(claim_id, True, operation_outcome([information(f"In progress: {note}")]))
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
    return SubmissionResult(claim_id, False, {"resourceType": "Bundle", "type": "collection",
                                              "timestamp": dates.instant(utc_now()), "entry": entries})


def precheck_outcome(uow: UnitOfWork, body: dict[str, Any], tenant: TenantClaimSettings) -> dict[str, Any]:
    """$precheck: every finding of architecture §9 for a Claim (its references resolved on the server) or for the
    Claim of a Bundle (resolved in the Bundle first), with its claim file and history; nothing written."""
    claim = gathering.claim_in(body)
    gathering.well_formed(body)
    assembler = gathering.assembler_for(body, uow.resources, tenant.timezone)
    ctx = assembler.context(claim, with_record=True)
    history = RecentEpisodes(StoreClaimHistory(assembler), ctx, tenant.timezone)
    return operation_outcome(prechecks.precheck(ctx, history, tenant, with_mapping=True))
