"""Run by test_restart.py as a separate process: store one change (its outbox row with it), then die by SIGKILL.

    python killed_writer.py DATA_DIR DATABASE_URL after-commit|mid-delivery RESOURCE_JSON

after-commit: killed right after the transaction (change + outbox row) commits, before any worker runs.
mid-delivery: starts the delivery worker and waits; the test kills it while the receiver holds the POST.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime


def main(data_dir: str, database_url: str, mode: str, resource_json: str) -> None:
    settings = Settings(data_dir=data_dir, database_url=database_url, run_worker=False,
                        webhook_timeout_seconds=5, webhook_poll_seconds=0.05, webhook_allowed_hosts="127.0.0.1")
    runtime = Runtime(settings)
    worker = runtime.webhook_worker
    resource = json.loads(resource_json)
    with runtime.store.unit_of_work() as uow:
        runtime.fhir_service(uow, author="killed-writer").update(resource["resourceType"], resource["id"], resource)
    if mode == "after-commit":
        os.kill(os.getpid(), signal.SIGKILL)
    worker.start()
    signal.pause()  # until the test kills this process


if __name__ == "__main__":
    main(*sys.argv[1:5])
