"""The pipeline worker: a thread inside `fhirclaim serve`, or the whole of `fhirclaim worker`.

Several workers (threads or processes, on one PostgreSQL) share the queue: each job is claimed under a lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from fhirclaim.claims.pipeline import ClaimPipeline

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
