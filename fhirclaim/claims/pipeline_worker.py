"""The pipeline workers: `PipelineWorker`, a thread inside `fhirclaim serve` or the whole of `fhirclaim worker`, and
`run_job_within`, the one-job worker of `Claim/$submit` that runs its claim's job and waits for it.

Several workers (threads or processes, on one PostgreSQL) share the queue: each job is claimed under a lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from fhirclaim.claims.pipeline import ClaimPipeline
from fhirclaim.clock import ask_until
from fhirclaim.store import jobs

log = logging.getLogger(__name__)


class PipelineWorker:
    def __init__(self, pipeline: ClaimPipeline, *, poll_seconds: float = 0.5, name: str | None = None):
        self.pipeline = pipeline
        self.poll_seconds = poll_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Run one due job; False when the queue had none."""
        return self.pipeline.run_next(self.name) is not None

    def run_until_idle(self, limit: int = 1000) -> int:
        """Run due jobs until none is left (tests, `fhirclaim worker --once`)."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"pipeline-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a bug in one job must not stop the worker; the job's lease lets it be retried
                log.exception("pipeline worker: job failed unexpectedly")
                busy = False
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()


def run_job_within(pipeline: ClaimPipeline, job_id: int, seconds: float, *, poll_seconds: float = 0.05) -> None:
    """Run the job in a thread of its own unless a worker has it already, and wait at most `seconds` for it to end
    (the caller then answers that it is still running). A job put back for a later retry (E-Klaim unreachable) is
    not waited for.

    The thread's end is an Event; a job another worker holds (maybe in another process) is followed through its
    row in the job table, read every `poll_seconds`: the one news of it all processes share."""
    deadline = time.monotonic() + seconds
    ended = threading.Event()

    def run_here() -> None:
        try:
            pipeline.run_next(f"submit-{job_id}", job_id)
        finally:
            ended.set()

    threading.Thread(target=run_here, name=f"submit-{job_id}", daemon=True).start()
    if not ended.wait(seconds):
        return  # still running here
    # another worker holds it: wait for its end, or its return to the queue
    ask_until(lambda: _job_status(pipeline, job_id) in (*jobs.TERMINAL, jobs.QUEUED), deadline, poll_seconds)


def _job_status(pipeline: ClaimPipeline, job_id: int) -> str | None:
    with pipeline.store.unit_of_work(write=False) as uow:
        job = uow.jobs.get(job_id)
    return job.status if job else None
