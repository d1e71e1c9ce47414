"""A claim job's write is allowed by one statement (`JobQueue.hold`, issue 17): it renews the lease only while the
worker holds it and no newer job of the Claim exists, and tells a lost lease from a superseded job; and the steps
are recorded by one upsert, a step recorded again rewritten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fhirclaim.store import jobs
from fhirclaim.store.db import Database
from fhirclaim.store.jobs import ClaimJobRow, JobQueue


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
