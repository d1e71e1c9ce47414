"""$submit's wait for its claim's job (`claims.pipeline_worker.run_job_within`): it runs the job in a thread of its
own and returns when that run ends, follows a job another worker holds through the job table, and does not wait
for a job put back for a later retry. A stand-in pipeline, so that no test waits on a clock."""

from __future__ import annotations

import contextlib
import threading
from types import SimpleNamespace

from fhirclaim.claims.pipeline_worker import run_job_within
from fhirclaim.store import jobs


class StandInPipeline:
    """`run_next` ends with the status `ran_to` (None: another worker had the job); the job table then answers
    `statuses` one read after another, the last one for good."""

    def __init__(self, ran_to: str | None, statuses: list[str], hold: threading.Event | None = None):
        self.ran_to, self.statuses, self.hold = ran_to, list(statuses), hold
        self.status = None
        self.reads = 0
        self.runs: list[tuple[str, int | None]] = []
        self.store = SimpleNamespace(unit_of_work=self._unit_of_work)

    def run_next(self, worker: str, job_id: int | None = None):
        self.runs.append((worker, job_id))
        if self.hold is not None:
            self.hold.wait(60)
        if self.ran_to is not None:
            self.statuses.insert(0, self.ran_to)
        return None

    @contextlib.contextmanager
    def _unit_of_work(self, *, write: bool):
        assert write is False
        self.reads += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        yield SimpleNamespace(jobs=SimpleNamespace(get=lambda job_id: SimpleNamespace(id=job_id, status=status)))


def test_a_job_run_here_is_waited_for_until_its_run_ends():
    pipeline = StandInPipeline(jobs.DONE, [jobs.RUNNING])
    run_job_within(pipeline, 7, seconds=60)
    assert pipeline.runs == [("submit-7", 7)]
    assert pipeline.reads == 1  # the run had ended: one look at the job says so


def test_a_job_put_back_for_a_later_retry_is_not_waited_for():
    pipeline = StandInPipeline(jobs.QUEUED, [jobs.RUNNING])
    run_job_within(pipeline, 7, seconds=60)
    assert pipeline.reads == 1


def test_a_job_another_worker_holds_is_followed_in_the_job_table_until_it_ends():
    pipeline = StandInPipeline(None, [jobs.RUNNING, jobs.RUNNING, jobs.RUNNING, jobs.DONE])
    run_job_within(pipeline, 7, seconds=60, poll_seconds=0)
    assert pipeline.reads == 4


def test_a_job_still_running_here_at_the_limit_is_left_to_its_thread():
    hold = threading.Event()
    pipeline = StandInPipeline(jobs.DONE, [jobs.RUNNING], hold=hold)
    try:
        run_job_within(pipeline, 7, seconds=0)
        assert pipeline.reads == 0  # the answer is then 202: the job is still running
    finally:
        hold.set()
