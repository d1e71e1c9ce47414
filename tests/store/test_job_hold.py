"""A claim job's write is allowed by one statement (`JobQueue.hold`, issue 17): it renews the lease only while the
worker holds it and no newer job of the Claim exists, and tells a lost lease from a superseded job; and the steps
are recorded by one upsert, a step recorded again rewritten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from fhirclaim.store import jobs
from fhirclaim.store.db import Database
from fhirclaim.store.jobs import ClaimJobRow, JobQueue
from fhirclaim.store.scope import SYSTEM
from fhirclaim.store.unit_of_work import Store


def _queue(database: Database):
    return database.session(write=True)


def test_hold_renews_the_lease_of_the_worker_that_holds_the_job(database):
    with _queue(database) as session:
        JobQueue(session).enqueue("c1", 1, "rs-a", "submit")
    with _queue(database) as session:
        job = JobQueue(session).claim_next("w1", 60)
    assert job is not None and job.worker == "w1"
    with _queue(database) as session:
        queue = JobQueue(session)
        assert queue.hold(replace(job, inputs=("Patient/p/_history/2",)), 60) == jobs.RUNNING
        assert queue.get(job.id).inputs == ("Patient/p/_history/2",)  # noted with the renewal
        assert queue.hold(job, 60) == jobs.RUNNING  # no inputs: the noted ones stay
        assert queue.get(job.id).inputs == ("Patient/p/_history/2",)


def test_hold_tells_a_lost_lease_from_a_newer_job(database):
    with _queue(database) as session:
        JobQueue(session).enqueue("c1", 1, "rs-a", "submit")
        JobQueue(session).enqueue("c2", 1, "rs-a", "submit")
    with _queue(database) as session:
        first = JobQueue(session).claim_next("w1", 60)
        other = JobQueue(session).claim_next("w1", 60)
    with _queue(database) as session:
        queue = JobQueue(session)
        queue.enqueue("c1", 2, "rs-a", "submit")  # a client update of c1: a newer job
        queue.enqueue("c2", 1, "rs-b", "submit")  # another tenant's c2: not the same Claim
        assert queue.hold(first, 60) == jobs.SUPERSEDED
        assert queue.hold(other, 60) == jobs.RUNNING
        assert queue.hold(replace(other, worker="w2"), 60) == jobs.QUEUED  # not w2's
        assert queue.hold(replace(first, worker="w2"), 60) == jobs.QUEUED  # lost first
        assert queue.hold(replace(other, worker=None), 60) == jobs.RUNNING  # unclaimed


def test_steps_recorded_again_are_rewritten(database):
    with _queue(database) as session:
        job = JobQueue(session).enqueue("c1", 1, None, "submit")
    when = datetime(2026, 1, 5, 8, 0)
    with _queue(database) as session:
        JobQueue(session).record_steps(job.id, [("new_claim", {"a": 1}, when), ("grouper", None, when)])
    with _queue(database) as session:
        JobQueue(session).record_steps(job.id, [("grouper", {"b": 2}, when), ("claim_final", None, when),
                                                ("claim_final", {"c": 3}, when)])
    with _queue(database) as session:
        assert JobQueue(session).steps(job.id) == {"new_claim": {"a": 1}, "grouper": {"b": 2}, "claim_final": {"c": 3}}



def test_get_answers_the_row_as_the_transaction_left_it(database):
    """`get` after a statement of the same transaction changed the job (`hold` noting a run's inputs, `finish`,
    `enqueue` superseding it) answers the row as it is now, even while a `ClaimJobRow` of it loaded earlier in the
    session is still held (the ORM session would answer that copy)."""
    with _queue(database) as session:
        JobQueue(session).enqueue("c1", 1, "rs-a", "submit")
    with _queue(database) as session:
        job = JobQueue(session).claim_next("w1", 60)
    with _queue(database) as session:
        queue = JobQueue(session)
        assert queue.hold(replace(job, inputs=("Patient/p/_history/1",)), 60) == jobs.RUNNING
        loaded = session.get(ClaimJobRow, job.id)
        assert loaded.inputs == '["Patient/p/_history/1"]'
        assert queue.hold(replace(job, inputs=("Patient/p/_history/2",)), 60) == jobs.RUNNING
        assert queue.get(job.id).inputs == ("Patient/p/_history/2",)
        queue.finish(job, jobs.FAILED, "E-Klaim refused it")
        assert (queue.get(job.id).status, queue.get(job.id).last_error) == (jobs.FAILED, "E-Klaim refused it")
    with _queue(database) as session:
        queue = JobQueue(session)
        first = queue.enqueue("c2", 1, "rs-a", "submit")
        loaded = session.get(ClaimJobRow, first.id)
        queue.enqueue("c2", 2, "rs-a", "submit")  # a client update of c2: its queued job is superseded
        assert (loaded.status, queue.get(first.id).status) == (jobs.QUEUED, jobs.SUPERSEDED)
        assert queue.get(first.id + 1000) is None


def test_latest_for_claim_answers_the_claims_newest_job_as_its_row_is_now(database):
    """The Claim's job of the highest id in its tenant (None: a shared Claim), every field as `get` answers it, as
    its row is now while an ORM copy loaded earlier in the session is stale; None for a Claim of no job."""
    with _queue(database) as session:
        queue = JobQueue(session)
        first = queue.enqueue("c1", 1, "rs-a", "submit")
        theirs = queue.enqueue("c1", 5, "rs-b", "submit")  # another hospital's Claim of the same id
        shared = queue.enqueue("c1", 7, None, "withdraw")
    with _queue(database) as session:
        queue = JobQueue(session)
        assert queue.latest_for_claim("c1", "rs-a") == queue.get(first.id) and queue.get(first.id) is not None
        loaded = session.get(ClaimJobRow, first.id)
        queue.enqueue("c1", 2, "rs-a", "submit")  # a client update: supersedes the first
        rerun = queue.enqueue("c1", 1, "rs-a", "submit", run=1)  # an older version re-run: the newest job still
        latest = queue.latest_for_claim("c1", "rs-a")
        assert (latest.id, latest.claim_version, latest.run, latest.status) == (rerun.id, 1, 1, jobs.QUEUED)
        assert (loaded.status, queue.get(first.id).status) == (jobs.QUEUED, jobs.SUPERSEDED)
        loaded = session.get(ClaimJobRow, rerun.id)
        assert queue.claim_next("w1", 60, job_id=rerun.id) is not None  # a Core UPDATE: the ORM copy is stale
        assert loaded.status == jobs.QUEUED
        latest = queue.latest_for_claim("c1", "rs-a")
        assert latest == queue.get(rerun.id) and (latest.status, latest.worker) == (jobs.RUNNING, "w1")
        assert queue.latest_for_claim("c1", "rs-b") == queue.get(theirs.id)
        assert (queue.latest_for_claim("c1", None).id, queue.latest_for_claim("c1", None).kind) == (shared.id,
                                                                                                   "withdraw")
        assert queue.latest_for_claim("c1", "rs-c") is None and queue.latest_for_claim("c2", "rs-a") is None


def test_latest_for_claim_reads_without_an_orm_session(database):
    """A prebuilt Core read (`execution.execute`), as `get`: in a read transaction it begins no ORM session."""
    with _queue(database) as session:
        job = JobQueue(session).enqueue("c1", 1, "rs-a", "submit")
    begun: list[object] = []
    listener = lambda _session, _transaction, connection: begun.append(connection)  # noqa: E731
    event.listen(Session, "after_begin", listener)
    try:
        with Store(database).reading(SYSTEM) as uow:
            assert uow.jobs.latest_for_claim("c1", "rs-a").id == job.id
    finally:
        event.remove(Session, "after_begin", listener)
    assert begun == []


def test_claim_next_takes_the_first_due_job_in_one_statement_on_postgresql(database, statements):
    """On PostgreSQL the due job is chosen (FOR UPDATE SKIP LOCKED) in the subquery of the UPDATE that takes it: one
    statement; SQLite reads the candidate, then takes it. Either way: the first due job, its row as taken, never a
    job of a claim a live lease holds, and nothing once none is due."""
    with _queue(database) as session:
        queue = JobQueue(session)
        first, second = queue.enqueue("c1", 1, "rs-a", "submit"), queue.enqueue("c2", 1, "rs-a", "submit")
    statements.clear()
    with _queue(database) as session:
        taken = JobQueue(session).claim_next("w1", 60)
    sent = [s for s in statements if s.split()[0] in ("SELECT", "UPDATE", "WITH")]
    assert len(sent) == (2 if database.is_sqlite else 1), sent
    assert (taken.id, taken.claim_id, taken.worker, taken.status) == (first.id, "c1", "w1", jobs.RUNNING)
    with _queue(database) as session:
        queue = JobQueue(session)
        rerun = queue.enqueue("c1", 1, "rs-a", "submit", run=1)  # due, but w1 holds c1's job
        assert queue.claim_next("w2", 60).id == second.id
        assert queue.claim_next("w2", 60) is None
        assert queue.get(rerun.id).status == jobs.QUEUED


def test_a_runs_first_read_answers_its_steps_or_that_it_is_superseded_in_one_statement(database, statements):
    """`run_start`: the steps recorded ({} when none), or None once a newer job of the same Claim (same tenant)
    exists — in one statement."""
    when = datetime(2026, 1, 5, 8, 0)
    with _queue(database) as session:
        queue = JobQueue(session)
        job, bare = queue.enqueue("c1", 1, "rs-a", "submit"), queue.enqueue("c2", 1, None, "submit")
        queue.record_steps(job.id, [("new_claim", {"a": 1}, when), ("grouper", None, when)])
    statements.clear()
    with _queue(database) as session:
        queue = JobQueue(session)
        assert queue.run_start(job) == jobs.RunStart({"new_claim": {"a": 1}, "grouper": None}, None)
        assert [s.split()[0] for s in statements if s.split()[0] in ("SELECT", "WITH")] == ["SELECT"]
        assert queue.run_start(bare) == jobs.RunStart({}, None)
        queue.enqueue("c1", 1, "rs-b", "submit")  # another tenant's c1: not newer
        queue.enqueue("c2", 2, "rs-a", "submit")  # a tenant's c2: not the shared one
        assert queue.run_start(job).steps == {"new_claim": {"a": 1}, "grouper": None}
        assert queue.run_start(bare).steps == {}
        queue.enqueue("c1", 1, "rs-a", "submit", run=1)
        queue.enqueue("c2", 3, None, "submit")
        assert queue.run_start(job) is None
        assert queue.run_start(bare) is None


def test_a_runs_first_read_finds_the_claims_last_done_submit_and_its_final_steps(database):
    """`run_start(job).last_done_submit`: the claim's latest earlier job that ended done, when it was a submit (a
    withdrawal done after it: None), of the same tenant; `last_final_steps` its steps when claim_final is one."""
    when = datetime(2026, 1, 5, 8, 0)
    with _queue(database) as session:
        queue = JobQueue(session)
        final, other_tenant = queue.enqueue("c1", 1, "rs-a", "submit"), queue.enqueue("c1", 1, "rs-b", "submit")
        queue.record_steps(final.id, [("claim_final", {"n": 1}, when)])
        assert queue.run_start(final).last_done_submit is None  # nothing before it
        for done in (final, other_tenant):
            queue.finish(done, jobs.DONE)
        rerun = queue.enqueue("c1", 2, "rs-a", "submit")
        start = queue.run_start(rerun)
        assert start.last_done_submit == final.id
        assert queue.last_final_steps(start) == {"claim_final": {"n": 1}}
        queue.finish(rerun, jobs.FAILED, "refused")  # ended, but not done: the final one stays the last done
        withdraw = queue.enqueue("c1", 3, "rs-a", "cancel")
        assert queue.run_start(withdraw).last_done_submit == final.id
        queue.finish(withdraw, jobs.DONE)
        after = queue.enqueue("c1", 4, "rs-a", "submit")
        assert queue.run_start(after) == jobs.RunStart({}, None)  # the withdrawal is the last done
        assert queue.last_final_steps(jobs.RunStart({}, None)) is None
        not_final = queue.enqueue("c9", 1, "rs-a", "submit")
        queue.record_steps(not_final.id, [("grouper", None, when)])
        queue.finish(not_final, jobs.DONE)  # a draft preview: done without claim_final
        start = queue.run_start(queue.enqueue("c9", 2, "rs-a", "submit"))
        assert start.last_done_submit == not_final.id and queue.last_final_steps(start) is None


def test_hold_records_the_steps_it_is_given_only_when_the_job_may_write(database, statements):
    """`hold(…, recording=steps)`: the renewal and the steps' upsert, one statement on PostgreSQL; the steps are
    recorded (a name given twice: its last) only when the answer is RUNNING, never for a job superseded or held by
    another worker, nor for a job run without a claim once superseded."""
    when = datetime(2026, 1, 5, 8, 0)
    with _queue(database) as session:
        JobQueue(session).enqueue("c1", 1, "rs-a", "submit")
        JobQueue(session).enqueue("c2", 1, "rs-a", "submit")
    with _queue(database) as session:
        first, other = JobQueue(session).claim_next("w1", 60), JobQueue(session).claim_next("w1", 60)
    statements.clear()
    with _queue(database) as session:
        queue = JobQueue(session)
        steps = [("new_claim", {"a": 1}, when), ("grouper", None, when), ("new_claim", {"a": 2}, when)]
        assert queue.hold(replace(first, inputs=("Patient/p/_history/3",)), 60, recording=steps) == jobs.RUNNING
        sent = [s.split()[0] for s in statements if s.split()[0] in ("SELECT", "UPDATE", "INSERT", "WITH")]
        assert sent == (["UPDATE", "INSERT"] if database.is_sqlite else ["WITH"])
        assert queue.get(first.id).inputs == ("Patient/p/_history/3",)
        assert queue.hold(first, 60, recording=[("grouper", {"b": 1}, when)]) == jobs.RUNNING  # rewritten
        assert queue.steps(first.id) == {"new_claim": {"a": 2}, "grouper": {"b": 1}}
        assert queue.hold(replace(other, worker="w2"), 60, recording=[("new_claim", None, when)]) == jobs.QUEUED
        queue.enqueue("c1", 2, "rs-a", "submit")  # a newer job of c1
        assert queue.hold(first, 60, recording=[("claim_final", None, when)]) == jobs.SUPERSEDED
        assert queue.hold(replace(first, worker=None), 60, recording=[("claim_final", None, when)]) == \
            jobs.SUPERSEDED
        assert queue.hold(replace(other, worker=None), 60, recording=[("sign", None, when)]) == jobs.RUNNING
        assert queue.steps(first.id) == {"new_claim": {"a": 2}, "grouper": {"b": 1}}
        assert queue.steps(other.id) == {"sign": None}
