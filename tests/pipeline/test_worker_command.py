"""`fhirclaim worker` as an operator runs it: a real process on the test database, draining the queue once
(`--once`) or working until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pipeline_kit import jobs_of, load_case, post_transaction, processing, read, signed_bundle

from fhirclaim.signing import verify_bundle


def _worker(settings, *args: str) -> subprocess.Popen:
    env = {**os.environ, "FHIRCLAIM_WORKER_POLL_SECONDS": "0.05"}
    return subprocess.Popen(
        [sys.executable, "-m", "fhirclaim.cli", "worker", "--data-dir", str(settings.data_dir),
         "--database-url", settings.resolved_database_url(), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_once_runs_every_due_job_and_says_so(runtime, settings):
    cases = [load_case("01-outpatient-visit"), load_case("05-precheck-rejected")]
    for case in cases:
        post_transaction(runtime, case.transaction)

    process = _worker(settings, "--once")
    out, errors = process.communicate(timeout=120)

    assert process.returncode == 0, errors
    lines = out.splitlines()
    assert lines[0].startswith("fhirclaim worker: database ")
    assert f"Claim/{cases[0].claim_id} version 1 submit → done" in lines[1]
    assert f"Claim/{cases[1].claim_id} version 1 submit → failed (Tanggal pulang" in lines[2]
    assert lines[-1] == "ran 2 claim job(s) and 0 webhook delivery attempt(s); nothing else is due"
    assert processing(read(runtime, "Claim", cases[0].claim_id)) == "signed"
    assert verify_bundle(signed_bundle(runtime, cases[0].claim_id), trust=runtime.signing.trust_policy()).valid


def test_once_on_an_empty_queue_does_nothing(settings, runtime):
    process = _worker(settings, "--once")
    out, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors
    assert out.splitlines()[-1] == "ran 0 claim job(s) and 0 webhook delivery attempt(s); nothing else is due"


def test_the_worker_runs_jobs_as_they_come_until_sigterm(runtime, settings):
    process = _worker(settings)
    try:
        assert process.stdout.readline().startswith("fhirclaim worker: database ")
        assert "workers running" in process.stdout.readline()
        case = load_case("03-class-upgrade")
        post_transaction(runtime, case.transaction)
        for _ in range(1200):  # bounded polling: at most a minute
            if jobs_of(runtime, case.claim_id)[0].status == "done":
                break
            time.sleep(0.05)
        assert jobs_of(runtime, case.claim_id)[0].status == "done"
        assert processing(read(runtime, "Claim", case.claim_id)) == "signed"
    finally:
        process.send_signal(signal.SIGTERM)
        out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert out.splitlines()[-2:] == ["stopping: finishing the jobs in hand", "stopped"]
