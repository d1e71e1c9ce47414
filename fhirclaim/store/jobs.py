"""The claim pipeline's durable queue: one job per client version of a Claim, and the record of its steps.

A job records the versions of what the claim rested on when it last ran (`inputs`); a claim that ended in error is
run again (a new job, the next `run` of the same Claim version) when those changed (`claims/trigger.py`).

A job is claimed with a lease on its own row (`locked_by` until `locked_until`, `store/leases.py`): a worker that
dies leaves a job whose lease runs out, and the next worker picks it up and repeats only the steps not recorded as
done. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several workers share the queue; on SQLite the write transaction
(BEGIN IMMEDIATE) serialises the claim.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    column,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from fhirclaim.clock import naive_utc_now
from fhirclaim.store import commit_notices
from fhirclaim.store.db import insert_for
from fhirclaim.store.execution import execute, execute_later
from fhirclaim.store.leases import Lease
from fhirclaim.store.models import Base

QUEUED, RUNNING, DONE, FAILED, WAITING, SUPERSEDED = "queued", "running", "done", "failed", "waiting", "superseded"
TERMINAL = (DONE, FAILED, WAITING, SUPERSEDED)


class ClaimJobRow(Base):
    __tablename__ = "claim_job"
    __table_args__ = (
        UniqueConstraint("tenant", "claim_id", "claim_version", "run", name="uq_claim_job_version_run"),
        Index("ix_claim_job_due", "status", "next_attempt_at"),
        # a claim's jobs (enqueue: its queued ones; issue 17); its first column serves lookups by claim_id alone
        Index("ix_claim_job_claim_status", "claim_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(String(64))
    claim_version: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # submit | cancel
    run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # re-runs of the same Claim version
    inputs: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: "Type/id/_history/n" it rested on
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ClaimJobStepRow(Base):
    __tablename__ = "claim_job_step"

    job_id: Mapped[int] = mapped_column(ForeignKey("claim_job.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(DateTime)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON the later steps read back


@dataclass(frozen=True)
class Job:
    id: int
    claim_id: str
    claim_version: int
    tenant: str | None
    kind: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    worker: str | None = None  # who holds the lease, as claimed
    run: int = 0
    inputs: tuple[str, ...] | None = None  # the versions of what the claim rested on when the job last ran

    @classmethod
    def of(cls, row: ClaimJobRow | Row) -> Job:
        """The job of a `claim_job` row: a mapped one, or the one a lease statement returned."""
        inputs = tuple(json.loads(row.inputs)) if row.inputs else None
        return cls(row.id, row.claim_id, row.claim_version, row.tenant, row.kind, row.status, row.attempts,
                   row.last_error, row.next_attempt_at, row.locked_by, row.run or 0, inputs)


@dataclass(frozen=True)
class RunStart:
    """What a run of a job reads of the queue first (`JobQueue.run_start`)."""

    steps: dict[str, Any]  # the steps done so far and what each left for the next ones (`JobQueue.steps`)
    last_done_submit: int | None  # the claim's latest earlier job that ended done, when it was a submit


_JOBS = ClaimJobRow.__table__
_LEASE = Lease(_JOBS.c.id, _JOBS.c.locked_by, _JOBS.c.locked_until)
_LATER = _JOBS.alias("later")


def _newer_job(claim_id: Any, tenant: Any, job_id: Any):
    """The jobs of the same Claim (and tenant) after `job_id` — what supersedes a job. The arguments are bound
    parameters, or a job row's columns for a correlated `~….exists()`."""
    return select(_LATER.c.id).where(_LATER.c.claim_id == claim_id, _LATER.c.tenant.is_not_distinct_from(tenant),
                                     _LATER.c.id > job_id)
# enqueue's statements: a claim's queued jobs superseded (through ix_claim_job_claim_status, never a scan of the
# queue), the new job inserted
_SUPERSEDE = (update(_JOBS).where(_JOBS.c.claim_id == bindparam("of_claim"),
                                  _JOBS.c.tenant.is_not_distinct_from(bindparam("of_tenant")), _JOBS.c.status == QUEUED)
              .values(status=SUPERSEDED, updated_at=bindparam("now")))
_INSERT_JOB = insert(_JOBS).returning(_JOBS.c.id)
_ADD_JOB = insert(_JOBS).inline()  # `add`: PostgreSQL would otherwise return the new row's key, which no one reads


_READING_AT_ONCE = 64  # references one `failed_reading` statement matches; more are asked in turns


@functools.lru_cache(maxsize=_READING_AT_ONCE)
def _failed_reading(count: int):
    """`failed_reading`'s statement for `count` references (parameters `tenant`, `read_0` … as LIKE patterns): Core
    rows, run on the cursor (`store/execution.py`), not ORM objects."""
    return select(*_JOBS.c).where(
        ClaimJobRow.status == FAILED, ClaimJobRow.kind == "submit",
        ClaimJobRow.tenant.is_not_distinct_from(bindparam("tenant")),
        or_(*[ClaimJobRow.inputs.like(bindparam(f"read_{n}"), escape="/") for n in range(count)]),
        ~_newer_job(ClaimJobRow.claim_id, ClaimJobRow.tenant, ClaimJobRow.id).exists())


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE … ESCAPE '/' (what `contains(…, autoescape=True)` does)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


class JobQueue:
    """Queue operations on one session (the caller's unit of work decides when they commit)."""

    def __init__(self, session: Session):
        self.session = session

    def enqueue(self, claim_id: str, claim_version: int, tenant: str | None, kind: str, run: int = 0, *,
                first: bool = False) -> Job:
        """A job for this Claim version (its `run`-th re-run); older jobs of the claim not yet started are
        superseded. `first`: the Claim was created just now under an id the server generated, so it has no job yet
        to supersede. Two statements built once, no ORM object (issue 17)."""
        values = self._superseding(claim_id, claim_version, tenant, kind, run, first)
        job_id = execute(self.session, _INSERT_JOB, values).scalar_one()
        return Job(job_id, claim_id, claim_version, tenant, kind, QUEUED, 0, None, values["created_at"], None, run,
                   None)

    def add(self, claim_id: str, claim_version: int, tenant: str | None, kind: str, *, first: bool = False) -> None:
        """`enqueue`, for a caller that reads nothing of the job back (a client write's listener): its INSERT asks
        for no key, and may go to PostgreSQL with the write's other rows (`execution.execute_later`)."""
        execute_later(self.session, _ADD_JOB, self._superseding(claim_id, claim_version, tenant, kind, 0, first))

    def _superseding(self, claim_id: str, claim_version: int, tenant: str | None, kind: str, run: int,
                     first: bool) -> dict[str, Any]:
        """The claim's queued jobs superseded (unless `first`); the new job's row."""
        now = naive_utc_now()
        if not first:
            execute(self.session, _SUPERSEDE, {"of_claim": claim_id, "of_tenant": tenant, "now": now})
        commit_notices.notice(self.session, commit_notices.CLAIM_JOB_QUEUED)
        return {"claim_id": claim_id, "claim_version": claim_version, "tenant": tenant, "kind": kind,
                "status": QUEUED, "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now,
                "run": run}

    def claim_next(self, worker: str, lease_seconds: float, *, job_id: int | None = None) -> Job | None:
        """Take the next due job (or the given one) for `worker`, unless another live lease holds its claim."""
        now = naive_utc_now()
        candidates, params = (_DUE, {"now": now}) if job_id is None else (_DUE_ONE, {"now": now, "job_id": job_id})
        row = _LEASE.claim(self.session, candidates, worker, now, now + timedelta(seconds=lease_seconds),
                           params=params, skip_locked=True, status=RUNNING, updated_at=now)
        return Job.of(row) if row is not None else None

    def get(self, job_id: int) -> Job | None:
        """The job as its row is now: a Core row, not the ORM session's copy, which a statement of this
        transaction (`hold`, `finish`, `enqueue`'s supersede) may have changed since it was loaded."""
        row = execute(self.session, _ONE, {"job_id": job_id}).first()
        return Job.of(row) if row is not None else None

    def latest_for_claim(self, claim_id: str, tenant: str | None) -> Job | None:
        """The Claim's newest job (the highest id) as its row is now: a Core row, as `get` reads one (a statement
        of this transaction, `enqueue`'s supersede, may have changed a job the ORM session loaded before)."""
        row = execute(self.session, _LATEST, {"claim_id": claim_id, "tenant": tenant}).first()
        return Job.of(row) if row is not None else None

    def last_final_steps(self, start: RunStart) -> dict[str, Any] | None:
        """The steps of the claim's latest earlier job that ended done (as `run_start` found it), when it was a
        submit that made the claim final in E-Klaim (claim_final recorded); None otherwise (none, or a withdrawal
        came after it)."""
        if start.last_done_submit is None:
            return None
        steps = self.steps(start.last_done_submit)
        return steps if "claim_final" in steps else None

    def is_superseded(self, job: Job) -> bool:
        """A newer job of the same Claim exists (a client update, or a re-run): this one must not write."""
        return bool(execute(self.session, _IS_SUPERSEDED, {"job_id": job.id, "claim_id": job.claim_id,
                                                         "tenant": job.tenant}).scalar())

    def renew(self, job: Job, lease_seconds: float) -> bool:
        """Extend the lease of a job this worker holds (and note what its run read); False when it lost it (the
        lease ran out and another worker took the job over), and must then stop without writing anything more."""
        inputs = {"inputs": json.dumps(list(job.inputs))} if job.inputs is not None else {}
        until = naive_utc_now() + timedelta(seconds=lease_seconds)
        return _LEASE.renew(self.session, job.id, job.worker, until, **inputs)

    def hold(self, job: Job, lease_seconds: float, recording: list[tuple[str, Any, datetime]] | None = None) -> str:
        """Before a step's write: renew the lease of a job this worker holds (noting what its run read) while no
        newer job of its Claim exists — one UPDATE. RUNNING when it may write; SUPERSEDED when a newer job exists;
        QUEUED when it lost its lease (another worker took the job over), then checked first. A job run without a
        claim (`worker` None) holds no lease: only whether it is superseded is asked.

        `recording`: steps to record (`record_steps`) when it may write, for a write that has nothing else to write
        in between. On PostgreSQL the renewal and the steps' upsert are then one statement (issue 17): the UPDATE is
        a data-modifying WITH whose RETURNING gives the INSERT the job's id, so when it renews nothing, no step is
        recorded."""
        if job.worker is None:
            held = SUPERSEDED if self.is_superseded(job) else RUNNING
        elif recording and self.session.get_bind().dialect.name == "postgresql":
            return self._held(job, _hold_recording(job.inputs is not None), lease_seconds, recording)
        else:
            held = self._held(job, _HOLD[job.inputs is not None], lease_seconds)
        if held == RUNNING and recording:
            self.record_steps(job.id, recording)
        return held

    def _held(self, job: Job, renewal, lease_seconds: float,
              recording: list[tuple[str, Any, datetime]] | None = None) -> str:
        """`hold`'s answer for a claimed job: `renewal` run (`_HOLD`, or `_hold_recording` with the `recording`
        steps as its arrays); when it changed nothing, whether the job was superseded or its lease lost."""
        params = {"job_id": job.id, "worker": job.worker,
                  "until": naive_utc_now() + timedelta(seconds=lease_seconds)}
        if job.inputs is not None:
            params["inputs"] = json.dumps(list(job.inputs))
        if recording:
            steps = _step_rows(job.id, recording)
            params.update(steps=[row["step"] for row in steps], done_ats=[row["done_at"] for row in steps],
                          details=[row["detail"] for row in steps])
        if execute(self.session, renewal, params).rowcount > 0:
            return RUNNING
        holder = execute(self.session, _HOLDER, {"job_id": job.id}).scalar()
        return SUPERSEDED if holder == job.worker else QUEUED

    def failed_reading(self, tenant: str | None, references: list[str]) -> list[Job]:
        """The claims' latest jobs that ended in error and read one of `references` ("Type/id", any version).
        Every client write of resources a claim rests on asks, once for all of them (claims/trigger.py): the
        statement is built once per number of references (up to `_READING_AT_ONCE` a statement), the references are
        its parameters."""
        found: dict[int, Job] = {}
        for start in range(0, len(references), _READING_AT_ONCE):
            part = references[start:start + _READING_AT_ONCE]
            values = {f"read_{n}": "%" + _like_escaped(f'"{reference}/_history/') + "%"
                      for n, reference in enumerate(part)}
            for row in execute(self.session, _failed_reading(len(part)), {"tenant": tenant, **values}):
                found.setdefault(row.id, Job.of(row))
        return list(found.values())

    def steps(self, job_id: int) -> dict[str, Any]:
        """The steps done so far and what each left for the next ones."""
        return _steps_of(execute(self.session, _STEPS, {"job_id": job_id}))

    def run_start(self, job: Job) -> RunStart | None:
        """What a run of `job` reads of the queue first, in one statement (issue 17): its steps done so far, and
        the claim's latest earlier job that ended done when that was a submit (`last_final_steps`); None when a
        newer job of its Claim exists (`is_superseded`)."""
        rows = execute(self.session, _RUN_START, {"job_id": job.id, "claim_id": job.claim_id,
                                                  "tenant": job.tenant}).all()
        if rows[0].superseded:
            return None
        return RunStart(_steps_of(row for row in rows if row.step is not None), rows[0].last_done_submit)

    def record_steps(self, job_id: int, steps: list[tuple[str, Any, datetime]]) -> None:
        """Record steps done (name, what it left for the next ones, when), in the order given (a step named twice:
        its last): one INSERT, a step recorded already rewritten (ON CONFLICT DO UPDATE)."""
        if not steps:
            return
        execute(self.session, _record_steps(insert_for(self.session)), _step_rows(job_id, steps))

    def finish(self, job: Job, status: str, error: str | None = None) -> None:
        self._end_run(job, status=status, last_error=error)

    def retry_later(self, job: Job, delay_seconds: float, error: str) -> None:
        self._end_run(job, status=QUEUED, attempts=job.attempts + 1, last_error=error,
                      next_attempt_at=naive_utc_now() + timedelta(seconds=delay_seconds))

    def _end_run(self, job: Job, **values: Any) -> None:
        """Release a job's lease and change its row; a claimed job only while its worker still holds it (a worker
        whose lease ran out must not overwrite what the worker that took over decided)."""
        values["updated_at"] = naive_utc_now()
        if job.worker is not None:
            _LEASE.release(self.session, job.id, job.worker, **values)
        else:  # a job run without a claim
            self.session.execute(update(ClaimJobRow).where(ClaimJobRow.id == job.id)
                                 .values(locked_until=None, locked_by=None, **values))


# --- the statements of the lease and the steps, built once (issue 17) ----------------------------------------

_NOW = bindparam("now")
# claim_next's candidates: due (queued and due, or running with a lease run out: its worker died), of a claim no live
# lease holds, first due first
_DUE = (select(_JOBS.c.id)
        .where(or_(and_(_JOBS.c.status == QUEUED, _JOBS.c.next_attempt_at <= _NOW),
                   and_(_JOBS.c.status == RUNNING, _LEASE.free(_NOW))),
               _JOBS.c.claim_id.not_in(select(_JOBS.c.claim_id).where(_JOBS.c.status == RUNNING,
                                                                       _LEASE.held(_NOW))))
        .order_by(_JOBS.c.next_attempt_at, _JOBS.c.id).limit(1))
_DUE_ONE = _DUE.where(_JOBS.c.id == bindparam("job_id"))

_ONE = select(*_JOBS.c).where(_JOBS.c.id == bindparam("job_id"))
# a Claim's newest job: of its id and tenant (its id is unique within its tenant's partition only, store/scope.py)
_LATEST = (select(*_JOBS.c).where(_JOBS.c.claim_id == bindparam("claim_id"),
                                  _JOBS.c.tenant.is_not_distinct_from(bindparam("tenant")))
           .order_by(_JOBS.c.id.desc()).limit(1))
# a newer job of the Claim exists (`is_superseded`, `run_start`)
_SUPERSEDED = _newer_job(bindparam("claim_id"), bindparam("tenant"), bindparam("job_id")).exists()
_IS_SUPERSEDED = select(_SUPERSEDED)
# the claim's latest earlier job that ended done, its id when it was a submit (`RunStart.last_done_submit`)
_LAST_DONE_SUBMIT = (select(case((_JOBS.c.kind == "submit", _JOBS.c.id)))
                     .where(_JOBS.c.claim_id == bindparam("claim_id"),
                            _JOBS.c.tenant.is_not_distinct_from(bindparam("tenant")),
                            _JOBS.c.id < bindparam("job_id"), _JOBS.c.status == DONE)
                     .order_by(_JOBS.c.id.desc()).limit(1).scalar_subquery())
# `hold`'s condition: the worker holds the job and no newer job of its Claim exists (superseded, module docstring)
_HOLDS = and_(_JOBS.c.id == bindparam("job_id"), _JOBS.c.locked_by == bindparam("worker"),
              ~_newer_job(_JOBS.c.claim_id, _JOBS.c.tenant, _JOBS.c.id).exists())


def _hold_update(with_inputs: bool):
    """`hold`'s UPDATE, noting the run's inputs or not: a new statement each call (one derived from a statement
    that ran would inherit what SQLAlchemy memoised on it, such as its empty RETURNING columns)."""
    return update(_JOBS).where(_HOLDS).values(locked_until=bindparam("until"),
                                              **({"inputs": bindparam("inputs")} if with_inputs else {}))


_HOLD = (_hold_update(False), _hold_update(True))  # [without, with] noting the run's inputs
_HOLDER = select(_JOBS.c.locked_by).where(_JOBS.c.id == bindparam("job_id"))

_STEP_ROWS = ClaimJobStepRow.__table__
_STEPS = select(_STEP_ROWS.c.step, _STEP_ROWS.c.detail).where(_STEP_ROWS.c.job_id == bindparam("job_id"))
# `run_start`: the steps (none: one row of NULLs), each row telling whether a newer job exists and the last done
# submit: a one-row select left-joined
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_RUN_START = (select(_SUPERSEDED.label("superseded"), _LAST_DONE_SUBMIT.label("last_done_submit"),
                     _STEP_ROWS.c.step, _STEP_ROWS.c.detail)
              .select_from(_ONE_ROW.outerjoin(_STEP_ROWS, _STEP_ROWS.c.job_id == bindparam("job_id"))))


def _steps_of(rows) -> dict[str, Any]:
    """The steps of `claim_job_step` rows (step, detail): what each left for the next ones, its JSON decoded."""
    return {row.step: json.loads(row.detail) if row.detail else None for row in rows}


def _step_rows(job_id: int, steps: list[tuple[str, Any, datetime]]) -> list[dict[str, Any]]:
    """The `claim_job_step` rows of `steps`: one per name, a name given twice its last (an upsert may not change a
    row twice)."""
    rows = {name: {"job_id": job_id, "step": name, "done_at": done_at,
                   "detail": json.dumps(detail) if detail is not None else None}
            for name, detail, done_at in steps}
    return list(rows.values())


def _upserting(statement):
    """A steps INSERT (of the dialect's, `insert_for`) that rewrites a step recorded already."""
    return statement.on_conflict_do_update(index_elements=[_STEP_ROWS.c.job_id, _STEP_ROWS.c.step],
                                           set_={"done_at": statement.excluded.done_at,
                                                 "detail": statement.excluded.detail})


@functools.cache
def _record_steps(dialect_insert):
    """The upsert of steps (`dialect_insert`: the dialect's INSERT, from `insert_for`)."""
    return _upserting(dialect_insert(_STEP_ROWS))


@functools.cache
def _hold_recording(with_inputs: bool):
    """PostgreSQL: `hold`'s UPDATE and the upsert of the steps given as three arrays (parameters `steps`,
    `done_ats`, `details`), in one statement: the steps are inserted for the job the renewal returns."""
    held = _hold_update(with_inputs).returning(_JOBS.c.id).cte("held")
    given = (func.unnest(bindparam("steps", type_=ARRAY(String)), bindparam("done_ats", type_=ARRAY(DateTime)),
                         bindparam("details", type_=ARRAY(Text)))
             .table_valued(column("step", String), column("done_at", DateTime), column("detail", Text))
             .render_derived(name="given"))
    rows = select(held.c.id, given.c.step, given.c.done_at, given.c.detail).select_from(held, given)
    return _upserting(pg_insert(_STEP_ROWS).from_select(["job_id", "step", "done_at", "detail"], rows)).add_cte(held)
