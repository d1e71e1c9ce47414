"""`fhirclaim worker`: the claim pipeline and webhook delivery workers without the HTTP server.

Run it beside `fhirclaim serve` (or several of it, on one PostgreSQL: each job is claimed under a lease) to
scale the background work apart from the API. `--once` runs every job that is due now and exits (cron, tests,
draining a queue by hand); otherwise it works until SIGTERM or SIGINT, finishing the job in hand first.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from fhirclaim import logging_setup
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.startup import freeze_startup_heap, private_umask
from fhirclaim.store.db import without_password

Echo = Callable[[str], None]


def _print(text: str) -> None:
    print(text, flush=True)


def run_workers(settings: Settings, *, once: bool, echo: Echo = _print) -> None:
    logging_setup.configure()
    private_umask()  # what it writes into the data dir is this user's alone
    runtime = Runtime(settings)
    database = without_password(settings.resolved_database_url())
    echo(f"fhirclaim worker: database {database}, data dir {runtime.data_dir}")
    try:
        freeze_startup_heap()
        if once:
            drain(runtime, echo)
        else:
            work_until_signalled(runtime, echo)
    finally:
        runtime.close()


def drain(runtime: Runtime, echo: Echo) -> int:
    """Run every due claim job and webhook delivery once; the number of claim jobs run."""
    worker = PipelineWorker(runtime.pipeline)
    count = 0
    while (job := runtime.pipeline.run_next(worker.name)) is not None:
        count += 1
        with runtime.store.unit_of_work(write=False) as uow:
            after = uow.jobs.get(job.id)
        status = after.status if after else "?"
        note = f" ({after.last_error})" if after and after.last_error else ""
        echo(f"claim job {job.id}: Claim/{job.claim_id} version {job.claim_version} {job.kind} → {status}{note}")
    deliveries = runtime.webhook_worker.run_once()
    echo(f"ran {count} claim job(s) and {deliveries} webhook delivery attempt(s); nothing else is due")
    return count


def work_until_signalled(runtime: Runtime, echo: Echo) -> None:
    """Start the worker threads and wait for SIGTERM/SIGINT (the main thread only waits)."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        runtime.start_workers()
        echo("claim pipeline and webhook delivery workers running; SIGTERM or Ctrl-C stops them")
        stop.wait()
        echo("stopping: finishing the jobs in hand")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    runtime.stop_workers()
    echo("stopped")
