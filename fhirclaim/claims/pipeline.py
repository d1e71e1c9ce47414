"""The claim pipeline: one durable job per client version of a Claim (architecture §4).

submit on E-Klaim 5.1: precheck → new_claim → set_claim_data (with the coding) → grouper (stage 1, and 2 when a
special CMG is chosen) → claim_final → send_claim_individual → sign → publish.
submit on E-Klaim 5.10 (manual 5.10 §VII): precheck → (generate_claim_number for a claim without SEP of a kind that
gets none: COVID-19, KIPI, newborn, co-incidence; the number is recorded with the step, written on the Claim as
identifier eklaim-claim-number, and is its nomor_sep from then on) → new_claim → set_claim_data (never any coding) →
idrg_diagnosa_set → idrg_procedure_set (→ sitb_validate for a TB claim with its SITB register) → grouper idrg
(step `grouper_idrg`: stage 1, and stage 2 with the top-ups the Claim chose among those offered, supportingInfo
idrg-topup; MDC 36 ends the claim with an error naming its codes) → idrg_grouper_final →
idrg_to_inacbg_import → inacbg_diagnosa_set / inacbg_procedure_set only where the INA-CBG coding must differ (codes
the import refused as IM-only, or INA-CBG codes the Claim names) → grouper inacbg (stage 1, 2) →
inacbg_grouper_final → claim_final → send_claim_individual → sign → publish. The Claim and the grouping
ClaimResponse carry the iDRG result beside the INA-CBG Package.
`draft` claims stop after grouping (a preview); options offered with none chosen stop there too (outcome
`partial`, the SIMRS names its choice and updates the Claim). An update of a final claim re-edits it first
(reedit_claim, then on 5.10 inacbg_grouper_reedit and idrg_grouper_reedit) — unless it changes nothing E-Klaim is
told (the digest of the run's E-Klaim payloads, recorded with `sign`, equals the last final run's): then E-Klaim's
grouping stands and only a new Bundle version is signed (step `republished`; a pending confirmation with documents
attached). cancel: the same re-edits, then delete_claim.

Each step is recorded when done, in the same transaction as what it wrote, and skipped when the job runs again.
E-Klaim is called outside any database transaction (a SQLite write lock is never held across the network). A
transport error puts the job back in the queue with exponential backoff; an E-Klaim business error, a grouper
error group or a precheck error ends it with an `error` ClaimResponse; anything else (a bug) is retried like a
transport error, with the failure in the job's last_error.

Steps share transactions (issue 17), so that a 5.10 claim takes 5 write transactions instead of 15. A step whose
repetition is harmless does not get a transaction of its own: its marker waits (`_RunLog.pending`) and is written,
in the order done, with the next step's, so that a crash repeats at most those calls and never skips one:
- the precheck (reads only) and the coding calls before grouping — new_claim (E-Klaim refuses a SEP it holds, and
  the gateway then reads that claim: repeated, it opens none), set_claim_data, idrg_diagnosa_set,
  idrg_procedure_set, sitb_validate — set the same values again when repeated; they are written before the first
  grouper is called (grouper_idrg on 5.10, grouper on 5.1: a grouper never repeats them, which is what
  tests/pipeline/test_server_killed.py finds when it kills the server waiting for the grouper);
- a final (idrg_grouper_final, inacbg_grouper_final, claim_final) and the calls after it up to the INA-CBG grouper's
  results or the send: a repeated final is answered "done already" (E2102 / E2009, taken as done by the gateway, as
  after a lost answer: test_flow_510's lost finals), and idrg_to_inacbg_import and inacbg_*_set set the same coding
  again, which the repeated grouper inacbg then groups (test_flow_510's worker killed at the INA-CBG grouper);
- grouper_idrg is written before its final is called (repeated after the final, it would re-edit the coding);
  grouper writes its results; send_claim_individual is written as soon as it answers (a send is not repeated for
  the sake of a transaction);
- sign (reads only) is written with publish, and the job's end (done) with both; a cancel's withdraw (the gateway
  reads the claim first: repeated, it finds it deleted and deletes nothing) is written with withdrawn and the end.
A transport error, an E-Klaim refusal or a bug writes the waiting markers with the job's retry or error, so only a
crash (a killed process, a lost lease) repeats calls, as a lost answer would.

A run reads the Claim and what it rests on once, at its start (`ClaimAssembler.context_and_bundle_record`): the
precheck checks that claim file, E-Klaim is told from it, and the signed Bundle carries that same record (its
Invoices, ChargeItems and medical evidence), so the Bundle holds what was checked and told. A client update of the
Claim meanwhile gets a job of its own (this one stops, superseded, below); a rerun reads afresh.

Each step's transaction first renews the job's lease and checks that no newer client version of the Claim has a job
of its own, in one UPDATE (`JobQueue.hold`): a worker that lost its lease, or a job overtaken by a client update,
stops without writing (the newer job redoes what is needed), so the server never writes an older Claim content back
over a client's update.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhirclaim.backoff import Backoff
from fhirclaim.claims import results
from fhirclaim.claims.assembly import BundleRecord, ClaimAssembler, RecentEpisodes, StoreClaimHistory, signer_of
from fhirclaim.claims.claim_context import ClaimContext, TenantClaimSettings, reference_of, rests_on
from fhirclaim.claims.fhirvalues import human_name
from fhirclaim.claims.gateway import SepConflict, Ungroupable
from fhirclaim.claims.idrg import inacbg_changes
from fhirclaim.claims.mapping import (
    MappingError,
    coder_nik,
    idrg_coding,
    idrg_topups,
    inacbg_coding,
    needs_generated_claim_number,
    nomor_sep,
    sitb_registration,
    special_cmg,
    to_new_claim,
    to_set_claim_data,
)
from fhirclaim.claims.precheck import precheck
from fhirclaim.claims.server_fields import client_content, with_claim_number, with_processing
from fhirclaim.claims.tenant_policy import TenantPolicy
from fhirclaim.clock import naive_utc_now, utc_now
from fhirclaim.eklaim import Coding, CodingImport, EKlaimError, EKlaimTransportError, GroupingResult
from fhirclaim.fhir.outcome import FhirError, Issue, error, warning
from fhirclaim.interactions.service import FhirService, FhirServices
from fhirclaim.store import jobs
from fhirclaim.store.jobs import Job
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.unit_of_work import Store

log = logging.getLogger(__name__)

PIPELINE_AUTHOR = "system:pipeline"  # the audit author of the pipeline's writes (told apart by server_authored)
_IDS = uuid.UUID("6c4f1b9e-64c1-4f0e-9b59-2f2f8a6f1c11")  # namespace of the ids the pipeline derives


def read_claim(assembler: ClaimAssembler, claim: dict[str, Any]) -> ClaimContext:
    """What a claim job reads: the resources the Claim rests on and its claim file (the claim-file prechecks read
    it). A rerun compares the versions of these (`context.rests_on`) with what the last run read."""
    return assembler.context(claim, with_record=True)


def derived_id(kind: str, claim_id: str) -> str:
    """The id of the grouping ClaimResponse or the signed Bundle of a Claim: stable, so each is versioned."""
    return str(uuid.uuid5(_IDS, f"{kind}:{claim_id}"))


@dataclass(frozen=True)
class PipelineSettings:
    send_to_data_centre: bool = True
    lease_seconds: float = 120.0
    backoff_initial_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    base_url: str = "http://127.0.0.1:8080/fhir"
    timezone: str = "Asia/Jakarta"


class JobEnded(Exception):
    """A step ended the job (error, waiting for the SIMRS, draft preview done, superseded by a newer version)."""

    def __init__(self, status: str, note: str | None = None):
        super().__init__(note or status)
        self.status = status
        self.note = note


class LeaseLost(Exception):
    """The job's lease ran out and another worker took it over: this run stops and writes nothing more."""


# Steps whose markers wait for the next transaction (module docstring): their calls are harmless to repeat.
WAITING_MARKERS = frozenset({
    "precheck", "new_claim", "set_claim_data", "idrg_diagnosa_set", "idrg_procedure_set", "sitb_validate",
    "idrg_grouper_final", "idrg_to_inacbg_import", "inacbg_diagnosa_set", "inacbg_procedure_set",
    "inacbg_grouper_final", "claim_final", "sign", "withdraw"})
# Calls before which the waiting markers are written: the first grouper never repeats the coding before it (the
# 5.1 grouper's own write is in `_JobRun._group`).
WRITE_BEFORE = frozenset({"grouper_idrg"})


@dataclass
class _RunLog:
    """What one run did that the database does not hold yet: steps done whose markers wait for the next
    transaction (name, detail, when done), and whether the job's end was written with its last step."""

    pending: list[tuple[str, Any, datetime]] = field(default_factory=list)
    ended: bool = False


SUPERSEDED_NOTE = "the Claim changed while the job ran; the job of its newer version takes over"


class ClaimPipeline:
    """Runs claim jobs: writes through `services.server` (the server's own writes, marked server-authored), reaches
    each hospital's E-Klaim, claim settings and signing key through `policy` (claims/tenant_policy.py)."""

    def __init__(self, *, store: Store, services: FhirServices, policy: TenantPolicy, settings: PipelineSettings):
        self.store = store
        self.services = services
        self.policy = policy
        self.settings = settings

    # --- the queue ---------------------------------------------------------------------------------------------

    def run_next(self, worker: str, job_id: int | None = None) -> Job | None:
        """Claim and run one due job (or the given one); None when there is none for this worker."""
        with self.store.unit_of_work(SYSTEM) as uow:
            job = uow.jobs.claim_next(worker, self.settings.lease_seconds, job_id=job_id)
        if job is None:
            return None
        self.run(job)
        return job

    def run(self, job: Job) -> str:
        """Run the job's remaining steps; returns its new status."""
        done = _RunLog()
        try:
            status = self._run_steps(job, done)
        except JobEnded as ended:
            self._finish(job, ended.status, ended.note, done)
            return ended.status
        except LeaseLost:
            log.warning("claim job lease lost; another worker has it", extra={"job": job.id, "claim": job.claim_id})
            return jobs.RUNNING
        except EKlaimTransportError as failure:
            return self._retry_later(job, f"E-Klaim unreachable: {failure}", done)
        except FhirError as failure:
            if failure.status != 412:
                return self._internal_error(job, failure, done)
            # another writer changed the Claim between our read and our write (a race the step's own check
            # cannot close on PostgreSQL): run again soon, from the stored state
            return self._retry_later(job, "the Claim was written concurrently", done)
        except Exception as failure:  # a bug must not leave the job silently leased, retried unseen
            return self._internal_error(job, failure, done)
        self._finish(job, status, None, done)
        return status

    def _internal_error(self, job: Job, failure: Exception, done: _RunLog) -> str:
        """A failure that is neither E-Klaim's nor the claim's (a bug, the database): keep the job, count the
        attempt, show what broke in its last_error ($submit-status), and try again after the backoff."""
        log.exception("claim job failed unexpectedly", extra={"job": job.id, "claim": job.claim_id})
        return self._retry_later(job, f"internal error: {type(failure).__name__}: {failure}"[:2000], done)

    def _retry_later(self, job: Job, reason: str, done: _RunLog) -> str:
        backoff = Backoff(self.settings.backoff_initial_seconds, 2.0, self.settings.backoff_max_seconds)
        delay = backoff.delay(job.attempts + 1)  # this run is the job's (attempts + 1)-th failure in a row
        log.warning("claim job retried later",
                    extra={"job": job.id, "claim": job.claim_id, "retry_in_s": delay, "error": reason})
        with self.store.unit_of_work(SYSTEM) as uow:
            self._record_waiting(uow.jobs, job, done)
            uow.jobs.retry_later(job, delay, reason)
        return jobs.QUEUED

    def _finish(self, job: Job, status: str, note: str | None, done: _RunLog) -> None:
        if not done.ended:
            with self.store.unit_of_work(SYSTEM) as uow:
                self._record_waiting(uow.jobs, job, done)
                uow.jobs.finish(job, status, note)
        log.info("claim job ended", extra={"job": job.id, "claim": job.claim_id, "status": status})

    def _record_waiting(self, queue: jobs.JobQueue, job: Job, done: _RunLog) -> None:
        """The markers of steps done that wait for a transaction, written with the job's retry or end — while this
        worker still holds the job (one whose lease ran out leaves them to the worker that took it over). The
        renewal notes no inputs: `job` is the job as claimed, its inputs those an earlier run noted, and this run
        notes its own with its first write (`_JobRun._write`): written here, they would undo that."""
        if done.pending and (job.worker is None or queue.renew(dataclasses.replace(job, inputs=None),
                                                               self.settings.lease_seconds)):
            queue.record_steps(job.id, done.pending)

    # --- the steps ---------------------------------------------------------------------------------------------

    def _run_steps(self, job: Job, done_now: _RunLog) -> str:
        scope = Scope(tenant=job.tenant, all_tenants=False) if job.tenant else SYSTEM
        with self.store.reading(scope) as uow:  # reads only: ended by rollback, no commit (issue 17)
            queue = uow.jobs
            start = queue.run_start(job)
            if start is None:
                return jobs.SUPERSEDED
            done = start.steps
            stored = uow.resources.find("Claim", job.claim_id)
            if stored is None or stored.deleted:
                return jobs.SUPERSEDED
            assembler = ClaimAssembler(uow.resources, self.settings.timezone, remember=True)
            # read once: the precheck's claim file and the signed Bundle's record (`_sign_and_publish`)
            ctx, bundled = assembler.context_and_bundle_record(stored.content)
            history = RecentEpisodes(StoreClaimHistory(assembler), ctx, self.settings.timezone)
            final = queue.last_final_steps(start) if job.kind == "submit" and _may_republish(ctx.claim, done) else None
        job = dataclasses.replace(job, inputs=rests_on(ctx))  # noted with each step: what a rerun compares
        run = _JobRun(self, job, scope, ctx, done, self.policy.claim_settings(job.tenant), done_now, bundled, final)
        if job.kind == "cancel":
            return run.withdraw()
        if job.kind == "publish":
            return run.publish_eklaim_result()
        return run.submit(history)

    def write(self, scope: Scope, job: Job, step: str | None, detail: Any = None,
              action: Callable[[FhirService, ClaimAssembler], None] | None = None, *,
              done: _RunLog | None = None, end: str | None = None) -> None:
        """Record a step (None: only the waiting ones of `done`), the steps done before it whose markers wait, and
        what it writes to FHIR, in one transaction — only while the job still holds its lease (renewed here, so a
        long job keeps it) and no newer version of the Claim has a job of its own. `end`: the job ends with it."""
        steps = list(done.pending) if done is not None else []
        if step is not None:
            steps.append((step, detail, naive_utc_now()))
        with self.store.unit_of_work(scope) as uow:
            queue = uow.jobs
            # renewed and not superseded, in one statement; a step without FHIR writes recorded in it too
            held = queue.hold(job, self.settings.lease_seconds, recording=steps if action is None else None)
            if held == jobs.QUEUED:
                raise LeaseLost()
            if held == jobs.SUPERSEDED:
                raise JobEnded(jobs.SUPERSEDED, SUPERSEDED_NOTE)
            if action is not None:
                service = self.services.server(uow, PIPELINE_AUTHOR)
                with service.writing_together():  # e.g. the Claim and its ClaimResponse: their worklist line once
                    action(service, ClaimAssembler(uow.resources, self.settings.timezone))
                queue.record_steps(job.id, steps)
            if end is not None:
                queue.finish(job, end)
        if done is not None:  # committed
            done.pending.clear()
            done.ended = end is not None


class _JobRun:
    """One run of one job: the steps of architecture §4 over a fixed ClaimContext."""

    def __init__(self, pipeline: ClaimPipeline, job: Job, scope: Scope, ctx: ClaimContext, done: dict[str, Any],
                 tenant: TenantClaimSettings, done_now: _RunLog, bundled: BundleRecord,
                 last_final: dict[str, Any] | None = None):
        self.pipeline = pipeline
        self.bundled = bundled  # the record the Bundle carries, read with ctx (ClaimPipeline._run_steps)
        self.last_final = last_final  # the steps of the claim's last final run, read with ctx (`_final_with`)
        self.done_now = done_now  # steps done in this run whose markers wait for a transaction
        self.job = job
        self.scope = scope
        self.ctx = ctx
        self.done = done
        self.tenant = tenant
        self.claim = ctx.claim
        self.sep = nomor_sep(self.claim) or ""
        self.gateway = pipeline.policy.eklaim_gateway(job.tenant)
        self.told: str | None = None  # the digest of what this run tells E-Klaim (`_told`)
        self.response: dict[str, Any] | None = None  # the grouping ClaimResponse as this run stored it

    # --- submit ----------------------------------------------------------------------------------------------

    def submit(self, history) -> str:
        warnings = self._precheck(history)
        if not self.sep and needs_generated_claim_number(self.ctx):
            self._claim_number()
        if self.gateway.speaks_510:
            return self._submit_510(warnings)
        try:
            new_claim, claim_data = to_new_claim(self.ctx, self.tenant), to_set_claim_data(self.ctx, self.tenant)
        except MappingError as failed:
            self._fail("precheck", failed.issues)
        told = self._told(new_claim, claim_data, special_cmg(self.claim))
        if (earlier := self._final_with(told)) is not None:
            return self._republish(earlier, warnings)
        coder, name = self.coder
        self._step("new_claim", lambda: self._open(new_claim))
        self._step("set_claim_data", lambda: self.gateway.set_claim_data(self.sep, claim_data, name))
        grouping = self._group(warnings)
        if self.claim.get("status") == "draft":
            return jobs.DONE  # a preview: grouped, never final
        self._step("claim_final", lambda: self.gateway.finalise(self.sep, coder, name))
        if self.pipeline.settings.send_to_data_centre:
            self._step("send_claim_individual", lambda: {"statuses": self.gateway.send(self.sep, coder)})
        if "publish" not in self.done:
            self._sign_and_publish(grouping)
        return jobs.DONE

    def _submit_510(self, warnings: list[Issue]) -> str:
        """The 5.10 flow: coding through iDRG, imported to INA-CBG (changed only where it must differ)."""
        try:
            new_claim = to_new_claim(self.ctx, self.tenant)
            claim_data = to_set_claim_data(self.ctx, self.tenant, protocol="5.10")
            diagnoses, procedures = idrg_coding(self.ctx)
            inacbg = inacbg_coding(self.ctx)
            register = sitb_registration(self.ctx)
        except MappingError as failed:
            self._fail("precheck", failed.issues)
        told = self._told(new_claim, claim_data, diagnoses, procedures, inacbg, register, special_cmg(self.claim),
                          idrg_topups(self.claim))
        if (earlier := self._final_with(told)) is not None:
            return self._republish(earlier, warnings)
        coder, name = self.coder
        self._step("new_claim", lambda: self._open(new_claim))
        self._step("set_claim_data", lambda: self.gateway.set_claim_data(self.sep, claim_data, name))
        for method, codes in (("idrg_diagnosa_set", diagnoses), ("idrg_procedure_set", procedures)):
            self._step(method, lambda m=method, c=codes: _coding_json(self.gateway.set_idrg_coding(self.sep, m, c)))
        if register:  # a TB claim: iDRG grouping waits for SITB (E2063), claim_final too (E2066)
            self._step("sitb_validate", lambda: self.gateway.validate_sitb(self.sep, register))
        idrg = self._step("grouper_idrg", lambda: {"answer": {"response_idrg": dict(
            self.gateway.group_idrg(self.sep, idrg_topups(self.claim)).raw)}})
        self._step("idrg_grouper_final", lambda: self.gateway.finalise_idrg(self.sep))
        imported = self._step("idrg_to_inacbg_import", lambda: _import_json(self.gateway.import_coding(self.sep)))
        for method, codes in inacbg_changes(imported, inacbg).items():
            self._step(method, lambda m=method, c=codes: _coding_json(self.gateway.set_inacbg_coding(self.sep, m, c)))
        grouping = self._group(warnings, idrg=idrg["answer"], upgrade=claim_data.get("upgrade_class_ind") == "1")
        if self.claim.get("status") == "draft":
            return jobs.DONE  # a preview: grouped, never final
        self._step("inacbg_grouper_final", lambda: self.gateway.finalise_inacbg(self.sep))
        self._step("claim_final", lambda: self.gateway.finalise(self.sep, coder, name))
        if self.pipeline.settings.send_to_data_centre:
            self._step("send_claim_individual", lambda: {"statuses": self.gateway.send(self.sep, coder)})
        if "publish" not in self.done:
            self._sign_and_publish(grouping)
        return jobs.DONE

    def _told(self, *payload: Any) -> str:
        """What this run tells E-Klaim, as a digest; the `sign` step records it with the result."""
        self.told = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        return self.told

    def _final_with(self, told: str) -> dict[str, Any] | None:
        """The steps of the claim's last run that made it final in E-Klaim, when that run told E-Klaim exactly what
        this one would. A new Claim version that changes nothing E-Klaim is told (a pending confirmation answered
        "confirmed" with the earlier stay's resume attached, a corrected document) needs no re-edit — which a sent
        claim would refuse anyway (E2039) — only a new signed Bundle. Those steps were read with the claim, at
        the run's start."""
        earlier = self.last_final if _may_republish(self.claim, self.done) else None
        if earlier is None or (earlier.get("sign") or {}).get("told") != told or "grouper" not in earlier:
            return None
        return earlier

    def _republish(self, earlier: dict[str, Any], warnings: list[Issue]) -> str:
        """Sign and publish this Claim version with the grouping E-Klaim gave the unchanged claim before."""
        if "republished" not in self.done:
            self._write("republished", {"from": "previous final run"})
            self.done["republished"] = {"from": "previous final run"}
        idrg = (earlier.get("grouper_idrg") or {}).get("answer")
        grouping = self._group(warnings, idrg=idrg, answer=earlier["grouper"]["answer"])
        if "publish" not in self.done:
            self._sign_and_publish(grouping)
        return jobs.DONE

    def _claim_number(self) -> None:
        """generate_claim_number, once per claim: the number is recorded with the step and written on the Claim in
        one transaction before any call uses it, so a rerun (or a later version of the Claim, which keeps it) opens
        the same E-Klaim claim. Only an answer lost on the wire leaves a number unused; no claim is opened twice."""
        if not self.gateway.speaks_510:
            self._fail("generate_claim_number", [error(
                "not-supported", "This claim has no SEP and its payor's claims get their number from E-Klaim 5.10's "
                "generate_claim_number; the hospital's E-Klaim speaks 5.1 (eklaim_protocol), which cannot number it",
                "Claim.insurance")])
        number = (self.done.get("generate_claim_number") or {}).get("claim_number")
        if not number:
            try:
                number = self.gateway.generate_claim_number()
            except EKlaimError as refused:
                self._fail("generate_claim_number", [results.eklaim_error_issue(refused.error_no, refused.message)])

            def carry(service: FhirService, _: ClaimAssembler) -> None:
                self._put(service, with_claim_number(self.claim, number))

            self._write("generate_claim_number", {"claim_number": number}, carry)
            self.done["generate_claim_number"] = {"claim_number": number}
        self.claim = with_claim_number(self.claim, number)
        self.ctx = dataclasses.replace(self.ctx, claim=self.claim)
        self.sep = number

    def _open(self, new_claim: dict[str, str]) -> None:
        self.gateway.open_claim(new_claim, reopen=True)  # an update of a final claim re-edits it first

    def _precheck(self, history) -> list[Issue]:
        if "precheck" in self.done:
            return [_issue_of(i) for i in (self.done["precheck"] or {}).get("warnings", [])]
        issues = precheck(self.ctx, history, self.tenant, with_mapping=True)
        if any(i.is_error for i in issues):
            self._fail("precheck", issues)
        warnings = [i for i in issues if not i.is_error]
        self._wait("precheck", {"warnings": [_issue_json(i) for i in warnings]})
        return warnings

    def _write(self, step: str | None, detail: Any = None,
               action: Callable[[FhirService, ClaimAssembler], None] | None = None, end: str | None = None) -> None:
        """`ClaimPipeline.write`, taking along the markers that wait (module docstring). What the run read is noted
        on the job with its first write; the later ones of the run only renew the lease (issue 17)."""
        self.pipeline.write(self.scope, self.job, step, detail, action, done=self.done_now, end=end)
        if self.job.inputs is not None:  # committed with the write
            self.job = dataclasses.replace(self.job, inputs=None)

    def _wait(self, step: str, detail: Any) -> None:
        """A step done whose marker waits for the next transaction (WAITING_MARKERS)."""
        self.done_now.pending.append((step, detail, naive_utc_now()))
        self.done[step] = detail

    def _step(self, name: str, call: Callable[[], Any]) -> Any:
        """Call E-Klaim for a step not yet done, then record it (or let its marker wait, WAITING_MARKERS);
        business errors end the job."""
        if name in self.done:
            return self.done[name]
        if name in WRITE_BEFORE and self.done_now.pending:
            self._write(None)
        try:
            detail = call()
        except EKlaimError as refused:
            self._fail(name, [results.eklaim_error_issue(refused.error_no, refused.message)])
        except SepConflict as conflict:
            self._fail(name, [error("conflict", str(conflict), "Claim.insurance.identifier",
                                    details_code="E2007")])
        except Ungroupable as ungroupable:
            idrg = ({"response_idrg": dict(ungroupable.idrg.raw)} if ungroupable.idrg
                    else (self.done.get("grouper_idrg") or {}).get("answer"))
            self._fail(name, [self._ungroupable_issue(str(ungroupable))], idrg=idrg)
        if name in WAITING_MARKERS:
            self._wait(name, detail)
        else:
            self._write(name, detail)
            self.done[name] = detail
        return detail

    def _ungroupable_issue(self, reason: str) -> Issue:
        """MDC 36: iDRG cannot group the coding; name the codes the hospital must check."""
        diagnoses, procedures = idrg_coding(self.ctx)
        return error("business-rule", f"iDRG cannot group this claim (MDC 36 Ungroupable or Unrelated: {reason}); "
                                      f"check the coding: diagnoses {', '.join(diagnoses) or 'none'}; procedures "
                                      f"{', '.join(procedures) or 'none'}", "Claim.diagnosis", "Claim.procedure",
                     details_code="E2105")

    def _group(self, warnings: list[Issue], idrg: dict[str, Any] | None = None, upgrade: bool = False,
               answer: dict[str, Any] | None = None) -> GroupingResult:
        """Group (or take `answer`, E-Klaim's grouping of the unchanged claim before) and write the results."""
        if "grouper" in self.done:
            return GroupingResult.from_answer(self.done["grouper"]["answer"])
        choice = [c for c in (special_cmg(self.claim) or "").split("#") if c]
        if answer is None:
            if self.done_now.pending and not self.gateway.speaks_510:
                # 5.1's grouper is the first: it never repeats the coding before it; 5.10's INA-CBG grouper
                # comes after grouper_idrg's write, and the final and import before it go with its results
                self._write(None)
            try:
                answer = dict(self.gateway.group(self.sep, choice, upgrade=upgrade).raw)
            except EKlaimError as refused:
                self._fail("grouper", [results.eklaim_error_issue(refused.error_no, refused.message)])
        grouping = GroupingResult.from_answer(answer)
        issues = results.grouper_issues(answer) + _choices_not_offered(choice, answer)
        outcome = results.grouping_outcome(answer, issues)
        processing = {"error": "error", "partial": "awaiting-special-cmg"}.get(outcome, "grouped")

        def write_results(service: FhirService, _: ClaimAssembler) -> None:
            claim = with_processing(results.with_idrg(self.claim, idrg) if idrg else self.claim, processing)
            if outcome != "error":
                claim = results.with_package(claim, answer, self.tenant.kode_tarif)
            self._prefetch_puts(service, "ClaimResponse", "grouping")
            self._put(service, claim)
            self.response = self._put(service, self._claim_response(answer, warnings + issues, outcome, idrg))

        self._write("grouper", {"answer": answer}, write_results)
        if outcome == "error":
            raise JobEnded(jobs.FAILED, "; ".join(i.text for i in issues))
        if outcome == "partial":
            raise JobEnded(jobs.WAITING, "special CMG options offered; the Claim names no choice")
        claim = results.with_idrg(self.claim, idrg) if idrg else self.claim
        self.claim = with_processing(results.with_package(claim, answer, self.tenant.kode_tarif), processing)
        return grouping

    def _sign_and_publish(self, grouping: GroupingResult) -> None:
        def publish(service: FhirService, assembler: ClaimAssembler) -> None:
            claim = with_processing(self.claim, "signed")
            self._prefetch_puts(service, "Bundle", "bundle")
            claim_stored = self._put(service, claim)
            response = self.response or assembler.get(f"ClaimResponse/{derived_id('grouping', self.claim['id'])}")
            ctx = dataclasses.replace(self.ctx, claim=claim_stored)
            bundle = self._bundle(assembler.bundle_resources(ctx, response, self.bundled))
            signed = self.pipeline.policy.sign(bundle, signer_of(self.job.tenant, self.claim))
            self._put(service, signed)

        self._wait("sign", {"cbg": grouping.cbg.code, "told": self.told})
        self._write("publish", None, publish, end=jobs.DONE)

    def _bundle(self, resources: list[dict[str, Any]]) -> dict[str, Any]:
        base = self.pipeline.settings.base_url.rstrip("/")
        sep_system = next((i.get("system") for i in self.claim.get("identifier") or []
                           if i.get("value") == self.sep), None) or "http://sys-ids.kemkes.go.id/claim-number"
        return {
            "resourceType": "Bundle",
            "id": derived_id("bundle", self.claim["id"]),
            "identifier": {"system": sep_system, "value": self.sep},
            "type": "collection",
            "timestamp": utc_now().isoformat(timespec="seconds"),
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
        }

    # --- E-Klaim's own result ----------------------------------------------------------------------------------

    def publish_eklaim_result(self) -> str:
        """E-Klaim posted the Claim with its own Package (issue 14 part 5): that grouping is the result — written
        as the grouping ClaimResponse and signed and published as it is, with no call to E-Klaim (regrouping would
        overwrite what E-Klaim decided). Its iDRG result, when it sent one, stays on the Claim as it came."""
        grouping = results.read_package(self.claim)
        if grouping is None or grouping.is_error:
            self._fail("publish", [error("invalid", "E-Klaim's Package names no base INA-CBG package to publish",
                                         "Claim.extension")])

        def write_result(service: FhirService, _: ClaimAssembler) -> None:
            self.claim = with_processing(self.claim, "grouped")
            self._prefetch_puts(service, "ClaimResponse", "grouping")
            self._put(service, self.claim)
            self._put(service, self._claim_response(grouping, [], "complete"))

        if "grouper" not in self.done:
            self._write("grouper", {"eklaim": True}, write_result)
        if "publish" not in self.done:
            self._sign_and_publish(grouping)
        return jobs.DONE

    # --- cancel ----------------------------------------------------------------------------------------------

    def withdraw(self) -> str:
        coder, name = self.coder
        if self.sep:
            self._step("withdraw", lambda: {"existed": self.gateway.withdraw(self.sep, coder, name)})

        def mark_cancelled(service: FhirService, assembler: ClaimAssembler) -> None:
            response = assembler.get(f"ClaimResponse/{derived_id('grouping', self.claim['id'])}")
            if response and response.get("status") != "cancelled":
                self._put(service, {**response, "status": "cancelled"})
            self._put(service, with_processing(self.claim, "withdrawn"))

        self._write("withdrawn", None, mark_cancelled, end=jobs.DONE)
        return jobs.DONE

    # --- helpers ---------------------------------------------------------------------------------------------

    @property
    def coder(self) -> tuple[str, str]:
        """The coder's NIK (Claim.enterer) and name: the embedded E-Klaim registers the coder under this name
        (Personnel), and E-Klaim shows it as coder_nm — the enterer Practitioner's, not the doctor's."""
        nik = coder_nik(self.ctx) or ""
        enterer = self.claim.get("enterer") or {}
        practitioner = self.ctx.practitioner(reference_of(enterer)) or {}
        display = enterer.get("display") if isinstance(enterer.get("display"), str) else ""
        return nik, human_name(practitioner.get("name")) or display.strip() or nik

    def _fail(self, step: str, issues: list[Issue], idrg: dict[str, Any] | None = None) -> None:
        def write_error(service: FhirService, _: ClaimAssembler) -> None:
            self._prefetch_puts(service, "ClaimResponse", "grouping")
            self._put(service, with_processing(self.claim, "error"))
            self._put(service, self._claim_response(None, issues, "error", idrg))

        self._write(f"{step}-failed", {"issues": [_issue_json(i) for i in issues]},
                            write_error)
        raise JobEnded(jobs.FAILED, "; ".join(i.text for i in issues if i.is_error)[:2000])

    def _claim_response(self, answer: dict[str, Any] | None, issues: list[Issue], outcome: str,
                        idrg: dict[str, Any] | None = None) -> dict[str, Any]:
        response = results.grouping_claim_response(self.claim, grouping=answer, issues=issues, outcome=outcome,
                                                   created=utc_now(), idrg=idrg)
        response["id"] = derived_id("grouping", self.claim["id"])
        return response

    def _prefetch_puts(self, service: FhirService, resource_type: str, kind: str) -> None:
        """Read the rows of the Claim and of the resource derived from it (`kind` of `derived_id`: its grouping
        ClaimResponse, its signed Bundle) that the next two `_put`s write, in one statement (one each before,
        issue 17)."""
        service.resources.prefetch([("Claim", self.claim["id"]), (resource_type, derived_id(kind, self.claim["id"]))])

    def _put(self, service: FhirService, resource: dict[str, Any]) -> dict[str, Any]:
        clean = {k: v for k, v in resource.items() if k != "meta"}
        current = None
        if resource["resourceType"] == "Claim":
            # The Claim is written as this job read it, plus the server's fields: only while the client's content
            # is still what the job works on, or a client update made meanwhile would be written over. The update
            # takes the version found here (not read again) and writes over it only while it is still current.
            current = service.resources.find("Claim", resource["id"])
            if current is None or current.deleted or client_content(current.content) != client_content(resource):
                raise JobEnded(jobs.SUPERSEDED, SUPERSEDED_NOTE)
        stored, _ = service.update(resource["resourceType"], resource["id"], clean, current=current)
        return stored.content


def _may_republish(claim: dict[str, Any], done: dict[str, Any]) -> bool:
    """Whether a run may sign again what the claim's last final run grouped (`_JobRun._final_with`): never a
    draft, nor a run that grouped afresh already."""
    return claim.get("status") != "draft" and ("grouper" not in done or "republished" in done)


def _choices_not_offered(choice: list[str], answer: dict[str, Any]) -> list[Issue]:
    """A special CMG the Claim names that E-Klaim did not offer is ignored by E-Klaim: say so, or the SIMRS gets
    the same `partial` answer again with no hint why."""
    offered = [option["code"] for option in results.read_grouping(answer).special_cmg_options]
    ignored = [code for code in choice if code not in offered]
    if not ignored:
        return []
    return [warning("business-rule", f"Special CMG {', '.join(ignored)} named in supportingInfo special-cmg is not "
                                     f"among the options E-Klaim offered ({', '.join(offered) or 'none'}) and was "
                                     f"not applied", "Claim.supportingInfo")]


def _issue_json(issue: Issue) -> dict[str, Any]:
    return {"severity": issue.severity, "code": issue.code, "text": issue.text, "expression": list(issue.expression),
            "details_code": issue.details_code, "details_system": issue.details_system}


def _issue_of(data: dict[str, Any]) -> Issue:
    return Issue(data["severity"], data["code"], data["text"], tuple(data.get("expression") or ()),
                 data.get("details_code"), data.get("details_system"))


def _coding_json(coding: Coding) -> dict[str, Any]:
    return {"string": coding.string, "codes": coding.codes, "refused": [item.code for item in coding.refused]}


def _import_json(imported: CodingImport) -> dict[str, Any]:
    return {"diagnosa": _coding_json(imported.diagnosa), "procedure": _coding_json(imported.procedure)}
