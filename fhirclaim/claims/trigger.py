"""How client writes reach the pipeline: an interceptor keeping the server's fields of a Claim the server's, and a
listener enqueueing a job, in the writing transaction, when a client changed what E-Klaim is told — a Claim, or
something a claim that ended in error rests on (issue 14 part 4: the hospital fixed what the error named).

A claim that ended in error runs again (a new job for the same Claim version, its next `run`) when the versions of
what it rests on (`context.rests_on`) differ from what its last run read: on an update of one of them (a Patient,
Encounter, Coverage, ChargeItem, Invoice, document, ...) and on `$submit` of the unchanged Claim (`rerun_failed`,
which the web app's "resubmit" calls too). A resend of the same data changes no version and runs nothing. A claim
that did not end in error is not run again this way: a grouped or sent claim changes through a new version of its
Claim (re-edited in E-Klaim, signed again), never because its Patient changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fhirclaim.auth.principal import EKLAIM
from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.claims.claim_context import reference_of, rests_on
from fhirclaim.claims.pipeline import read_claim
from fhirclaim.claims.server_fields import (
    EKLAIM_RESULTS,
    client_content,
    eklaim_result,
    with_extensions,
    with_server_identifiers,
)
from fhirclaim.fhir.indexing.reference import named
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store import jobs
from fhirclaim.store.db import ConstraintViolation
from fhirclaim.store.jobs import Job
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

WITHDRAWN = ("cancelled", "entered-in-error")
# what a claim rests on (claims/assembly.py, the claim file of rules/record.py): an update may fix a failed claim
RESTS_ON_TYPES = frozenset({"Patient", "Encounter", "Coverage", "ChargeItem", "Invoice", "Account", "Organization",
                            "Practitioner", "Condition", "Procedure", "Observation", "DocumentReference",
                            "Composition", "DiagnosticReport", "MedicationRequest", "ServiceRequest"})
# where a resource names the patient or encounter it belongs to (a new document is found through them)
_OWNER_FIELDS = ("subject", "patient", "beneficiary", "encounter")

RERUN, UNCHANGED, NOT_FAILED, NO_JOB = "rerun", "unchanged", "not-failed", "no-job"
EKLAIM_AUTHOR = f"{EKLAIM}:"  # Principal.name of an E-Klaim client


@dataclass(frozen=True)
class Rerun:
    """What `rerun_failed` did: `outcome` RERUN (a new job), UNCHANGED (nothing the claim rests on changed since its
    last run), NOT_FAILED (its last job did not end in error, or is still running) or NO_JOB; `job` the claim's
    job now (the new one, else the latest)."""

    outcome: str
    job: Job | None


def claim_tenant(uow: UnitOfWork, stored: StoredResource | None) -> str | None:
    """Whose claim jobs a caller means by a Claim id (ids are unique per tenant): the stored Claim's tenant, else
    the caller's."""
    return stored.tenant if stored is not None else uow.resources.scope.tenant


def rerun_failed(uow: UnitOfWork, claim_id: str, timezone: str) -> Rerun:
    """Run a claim that ended in error again when anything it rests on changed since its last run."""
    queue = uow.jobs
    stored = uow.resources.find("Claim", claim_id)
    tenant = claim_tenant(uow, stored)
    latest = queue.latest_for_claim(claim_id, tenant)
    if latest is None:
        return Rerun(NO_JOB, None)
    if latest.status != jobs.FAILED or latest.kind != "submit" or stored is None or stored.deleted:
        return Rerun(NOT_FAILED, latest)
    if latest.inputs is not None and rests_on(read_claim(ClaimAssembler(uow.resources, timezone),
                                                         stored.content)) == latest.inputs:
        return Rerun(UNCHANGED, latest)
    try:
        with uow.savepoint():  # two writers may rerun it at once: the job key lets one through
            job = queue.enqueue(claim_id, latest.claim_version, latest.tenant, "submit", run=latest.run + 1)
    except ConstraintViolation:
        return Rerun(NOT_FAILED, queue.latest_for_claim(claim_id, tenant))
    return Rerun(RERUN, job)


class ClaimServerFields:
    """ResourceInterceptor for client writes (the pipeline's own service runs without it). `results` are the
    server-owned extensions this writer may set: E-Klaim's own Package (and iDRG result) when E-Klaim itself posts
    the Claim (`for_eklaim`); no hospital client sets them."""

    def __init__(self, results: frozenset[str] = frozenset()):
        self.results = results

    @classmethod
    def for_eklaim(cls) -> ClaimServerFields:
        return cls(EKLAIM_RESULTS)

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        if resource.get("resourceType") != "Claim":
            return resource
        current = uow.resources.find("Claim", resource["id"]) if resource.get("id") else None
        meta = {"meta": resource["meta"]} if "meta" in resource else {}
        given = [e for e in resource.get("extension") or [] if isinstance(e, dict) and e.get("url") in self.results]
        if current is not None and not current.deleted and client_content(current.content) == client_content(
                resource):
            # an unchanged resend keeps what the server wrote, so the repository sees no change at all
            return {**with_extensions({k: v for k, v in current.content.items() if k != "meta"}, given), **meta}
        kept = current.content if current is not None and not current.deleted else {}
        return {**with_extensions(with_server_identifiers(client_content(resource), kept), given), **meta}


class PipelineTrigger:
    """ResourceListener: one job per client version of a Claim with use `claim` whose content changed (kind
    `publish` when E-Klaim itself posted it with its own Package), and a rerun of each claim that ended in error
    and rests on a resource a client changed. The server's own writes (`change.server_authored`: the pipeline's)
    enqueue nothing."""

    def __init__(self, timezone: str = "Asia/Jakarta"):
        self.timezone = timezone

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        after = change.after
        if change.server_authored:
            return
        if after.resource_type in RESTS_ON_TYPES:
            return  # `written` reruns the failed claims resting on it
        if after.resource_type != "Claim" or after.deleted:
            return
        claim = after.content
        if claim.get("use") != "claim":
            return
        before = change.before.content if change.before and not change.before.deleted else None
        if change.author and change.author.startswith(EKLAIM_AUTHOR) and eklaim_result(claim) and eklaim_result(
                claim) != eklaim_result(before or {}):
            # E-Klaim posted its own grouping: published as it is, never sent back to E-Klaim to regroup
            uow.jobs.add(after.id, after.version_id, after.tenant, "publish", first=change.fresh)
            return
        if before is not None and client_content(before) == client_content(claim):
            return
        if claim.get("status") in WITHDRAWN:
            if before is None or before.get("status") in WITHDRAWN:
                return  # nothing of it ever reached E-Klaim through this server, or it is withdrawn already
            kind = "cancel"
        else:
            kind = "submit"
        uow.jobs.add(after.id, after.version_id, after.tenant, kind, first=change.fresh)  # no Job read back

    def written(self, changes: Sequence[ResourceChange], uow: UnitOfWork) -> None:
        """Rerun each claim that ended in error and rests on a resource a client changed here: asked once for all the
        write's changes (a SIMRS transaction's twenty entries: one statement per hospital, not one per entry; issue
        17), once they are all written, so a rerun's check reads what the write left."""
        rested_on: dict[str | None, list[str]] = {}
        for change in changes:
            if not change.server_authored and change.after.resource_type in RESTS_ON_TYPES:
                rested_on.setdefault(change.after.tenant, []).extend(_references_to(change.after))
        for tenant, references in rested_on.items():
            for job in uow.jobs.failed_reading(tenant, list(dict.fromkeys(references))):
                rerun_failed(uow, job.claim_id, self.timezone)


def _references_to(stored: StoredResource) -> list[str]:
    """How a claim's last run names `stored` in what it read: "Type/id", and the patient or encounter it belongs
    to (a new document is found through them)."""
    content = stored.content or {}
    context = content.get("context") if isinstance(content.get("context"), dict) else {}
    owners = [reference_of(content.get(name)) for name in _OWNER_FIELDS]
    owners += [reference_of(e) for e in context.get("encounter") or [] if isinstance(e, dict)]
    named_owners = ["/".join(pair) for pair in (named(r) for r in owners if r) if pair]
    return [f"{stored.resource_type}/{stored.id}", *named_owners]
