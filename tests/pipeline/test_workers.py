"""Pipeline workers sharing one queue: two worker threads never run a job twice (on PostgreSQL through
`FOR UPDATE SKIP LOCKED`), a job whose worker died is taken over once its lease runs out, and a worker whose lease
ran out while it was stuck writes nothing more."""

from __future__ import annotations

import threading
import time

import pytest
from pipeline_kit import (
    GROUPED,
    SUBMIT_STEPS,
    all_steps,
    grouping_response,
    jobs_of,
    load_case,
    post_transaction,
    processing,
    read,
    run_jobs,
    signed_bundle,
    steps_of,
    time_passes,
)

from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.signing import verify_bundle
from fhirclaim.store import jobs
from fhirclaim.store.jobs import ClaimJobRow, JobQueue


class RecordingPipeline:
    """The real pipeline, noting which worker ran which job."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.runs: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def run_next(self, worker: str, job_id: int | None = None):
        job = self.pipeline.run_next(worker, job_id)
        if job is not None:
            with self._lock:
                self.runs.append((worker, job.id))
        return job


def _all_jobs(runtime) -> list[ClaimJobRow]:
    from sqlalchemy import select

    with runtime.store.unit_of_work(write=False) as uow:
        return list(uow.session.execute(select(ClaimJobRow).order_by(ClaimJobRow.id)).scalars())


def test_two_workers_never_run_the_same_job_twice(runtime, ledger):
    cases = [load_case(GROUPED[n % len(GROUPED)]).copy(n) for n in range(12)]
    for case in cases:
        post_transaction(runtime, case.transaction)
    recording = RecordingPipeline(runtime.pipeline)
    workers = [PipelineWorker(recording, poll_seconds=0.01, name=f"worker-{n}") for n in (1, 2)]

    for worker in workers:
        worker.start()
    try:
        for _ in range(2400):  # bounded: at most two minutes
            if all(row.status in jobs.TERMINAL for row in _all_jobs(runtime)):
                break
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.stop()

    rows = _all_jobs(runtime)
    assert [row.status for row in rows] == ["done"] * len(cases)
    assert sorted(job_id for _, job_id in recording.runs) == [row.id for row in rows]  # each job run once
    assert {worker for worker, _ in recording.runs} == {"worker-1", "worker-2"}  # and both took part
    steps = all_steps(runtime)
    assert len(steps) == len(cases) * len(SUBMIT_STEPS)
    for case in cases:
        events = ledger.events(case.sep)
        assert (events.count("new_claim"), events.count("claim_final")) == (1, 1)
        assert processing(read(runtime, "Claim", case.claim_id)) == "signed"


def test_postgresql_workers_skip_a_locked_job_instead_of_waiting(runtime):
    """Two transactions claiming at once: the second takes the next job while the first still holds its row lock
    (SKIP LOCKED); without it, it would wait for the first to commit."""
    if runtime.database.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; SKIP LOCKED is PostgreSQL's")
    first_case, second_case = (load_case(GROUPED[0]).copy(n) for n in (1, 2))
    post_transaction(runtime, first_case.transaction)
    post_transaction(runtime, second_case.transaction)
    claimed: dict[str, object] = {}

    with runtime.store.unit_of_work() as holding:
        claimed["a"] = JobQueue(holding.session).claim_next("worker-a", 60)

        def other_worker() -> None:
            with runtime.store.unit_of_work() as uow:
                claimed["b"] = JobQueue(uow.session).claim_next("worker-b", 60)

        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(20)
        assert not thread.is_alive(), "the second worker waited for the first one's lock"
    assert {claimed["a"].claim_id, claimed["b"].claim_id} == {first_case.claim_id, second_case.claim_id}


def test_a_job_left_running_by_a_dead_worker_is_taken_over_after_its_lease(runtime, ledger):
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    with runtime.store.unit_of_work() as uow:  # a worker claims the job and dies before running any step
        dead = JobQueue(uow.session).claim_next("dead-worker", runtime.settings.job_lease_seconds)

    assert run_jobs(runtime, "worker-b") == []  # the lease still holds
    time_passes(runtime, dead.id)
    [taken] = run_jobs(runtime, "worker-b")

    assert taken.id == dead.id
    [row] = jobs_of(runtime, case.claim_id)
    assert (row.status, row.locked_by) == ("done", None)
    assert steps_of(runtime, dead.id) == SUBMIT_STEPS
    assert verify_bundle(signed_bundle(runtime, case.claim_id), trust=runtime.signing.trust_policy()).valid


def test_a_stuck_worker_whose_lease_ran_out_writes_nothing_more(runtime, flaky, ledger):
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    flaky.hold_at("grouper")  # worker A is stuck in E-Klaim's grouper
    worker_a = threading.Thread(target=runtime.pipeline.run_next, args=("worker-a",))
    worker_a.start()
    try:
        assert flaky.holding.wait(30)
        assert run_jobs(runtime, "worker-b") == []  # A's lease holds
        [job] = jobs_of(runtime, case.claim_id)
        time_passes(runtime, job.id)  # ... until it runs out
        [taken] = run_jobs(runtime, "worker-b")
        assert taken.id == job.id
        assert jobs_of(runtime, case.claim_id)[0].status == "done"
        done_by_b = read(runtime, "Claim", case.claim_id)
    finally:
        flaky.release()
        worker_a.join(30)

    [row] = jobs_of(runtime, case.claim_id)
    assert (row.status, row.locked_by, row.last_error) == ("done", None, None)  # A did not overwrite B's result
    assert steps_of(runtime, row.id) == SUBMIT_STEPS
    assert read(runtime, "Claim", case.claim_id) == done_by_b  # A wrote no Claim version of its own
    # A's grouper call reached E-Klaim after B had finalised the claim: E-Klaim refused it, and A, having lost its
    # lease, recorded no error for it either
    assert flaky.calls["grouper"] == 2
    events = ledger.events(case.sep)
    assert (events.count("new_claim"), events.count("grouper"), events.count("claim_final")) == (1, 1, 1)
    assert grouping_response(runtime, case.claim_id)["outcome"] == "complete"


def _sleepy_runtime(settings):
    """A Runtime whose workers poll once an hour, and two events: `idle` when a look found nothing due, `ended`
    when a job ran."""
    from fhirclaim.runtime import Runtime

    runtime = Runtime(settings.model_copy(update={"worker_poll_seconds": 3600, "webhook_poll_seconds": 3600}))
    idle, ended, run_next = threading.Event(), threading.Event(), runtime.pipeline.run_next

    def noting(worker: str, job_id: int | None = None):
        job = run_next(worker, job_id)
        (ended if job is not None else idle).set()
        return job

    runtime.pipeline.run_next = noting
    return runtime, idle, ended


def test_a_claim_written_wakes_the_served_worker_without_waiting_for_its_poll(settings, ledger):
    """`fhirclaim serve`'s worker polls the queue only when idle; the commit that queued a job wakes it (the poll
    here is an hour: only the wake-up can run the job)."""
    runtime, idle, ended = _sleepy_runtime(settings)
    try:
        runtime.start_workers()
        assert idle.wait(120)  # its first look found the queue empty: now it sleeps for the hour
        case = load_case(GROUPED[0])
        post_transaction(runtime, case.transaction)
        assert ended.wait(120), "the worker slept through the commit that queued the claim's job"
        assert signed_bundle(runtime, case.claim_id) is not None
    finally:
        runtime.close()


def test_a_claim_another_process_wrote_wakes_this_processs_worker(settings):
    """`fhirclaim worker` beside `fhirclaim serve`: the serving process's commit wakes the worker process, through
    PostgreSQL's NOTIFY (`store/notice_listener.py`) or, on SQLite, a datagram to the worker's socket
    (`store/socket_notices.py`). A second Runtime on the same database stands for the other process; this one's
    poll is an hour, so only the notice can run the job."""
    from fhirclaim.runtime import Runtime
    from fhirclaim.store.notice_listener import NoticeListener
    from fhirclaim.store.socket_notices import SocketNoticeListener

    worker_side, idle, ended = _sleepy_runtime(settings)
    serving_side = Runtime(settings.model_copy(update={"run_worker": False}))
    try:
        worker_side.start_workers()
        [listener] = [w for w in worker_side.workers if isinstance(w, NoticeListener | SocketNoticeListener)]
        assert listener.listening.wait(120) and idle.wait(120)  # the queue was empty: now it sleeps for the hour
        case = load_case(GROUPED[0])
        post_transaction(serving_side, case.transaction)
        assert ended.wait(120), "the worker slept through the other process's commit that queued the claim's job"
        assert signed_bundle(worker_side, case.claim_id) is not None
    finally:
        serving_side.close()
        worker_side.close()
