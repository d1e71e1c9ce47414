"""The server killed (SIGKILL) in the middle of a claim job: a real `fhirclaim serve` process works the job against
an E-Klaim served over HTTP by this test, which holds one call open until the server is dead. A restarted server
takes the job over once the dead one's lease runs out and completes it, with nothing done twice in E-Klaim.

Deterministic: the test waits on events and polls the database (bounded), it never sleeps to let things happen."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from pipeline_kit import (
    CODER_NAME,
    CODER_NIK,
    SUBMIT_STEPS,
    EKlaimLedger,
    jobs_of,
    load_case,
    post_transaction,
    processing,
    read,
    serve_wsgi,
    signed_bundle,
    steps_of,
    verify_independently,
)

from fhirclaim.claims.assembly import signed_content
from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator import EmulatorConfig, create_emulator_app
from fhirclaim.signing import verify_bundle

LEASE_SECONDS = 2


class HeldCall:
    """WSGI middleware before the emulator: the first call of `method` is held open until `release` is set.
    `after_work=False`: held before E-Klaim sees it; `after_work=True`: E-Klaim does the work first (the claim is
    changed) and only the answer is held — the server dies not knowing it was done."""

    def __init__(self, app, key: str, method: str, *, after_work: bool) -> None:
        self.app, self.key, self.method, self.after_work = app, key, method, after_work
        self.calls: Counter[str] = Counter()
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        method = json.loads(crypto.decrypt(body, self.key))["metadata"]["method"]
        with self._lock:
            self.calls[method] += 1
            held = method == self.method and self.calls[method] == 1
        environ["wsgi.input"] = io.BytesIO(body)
        if not held:
            return self.app(environ, start_response)
        answer: list = []
        if self.after_work:
            answer = self._call(environ)
        self.arrived.set()
        assert self.release.wait(120)
        status, headers, content = answer or self._call(environ)
        start_response(status, headers)
        return [content]

    def _call(self, environ) -> tuple:
        captured: list = []
        content = b"".join(self.app(environ, lambda status, headers, exc_info=None: captured.extend([status,
                                                                                                    headers])))
        return captured[0], captured[1], content


def _serve(settings, eklaim_url: str, key: str) -> subprocess.Popen:
    env = {**os.environ, "FHIRCLAIM_EKLAIM_URL": eklaim_url, "FHIRCLAIM_EKLAIM_KEY": key,
           "FHIRCLAIM_EKLAIM_PROTOCOL": settings.eklaim_protocol,  # 5.1, as the E-Klaim served here
           "FHIRCLAIM_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "FHIRCLAIM_WORKER_POLL_SECONDS": "0.05"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirclaim.cli", "serve", "--port", "0", "--data-dir", str(settings.data_dir),
         "--database-url", settings.resolved_database_url()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()  # the server's first line is its base URL, once it listens
    if not re.search(r"http://127\.0\.0\.1:\d+/fhir", line):
        process.kill()  # so that reading its stderr cannot wait forever
        raise AssertionError(line + process.communicate(timeout=30)[1])
    return process


def _wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize(("method", "after_work", "done_before"), [
    ("grouper", False, ["precheck", "new_claim", "set_claim_data"]),
    ("claim_final", True, ["precheck", "new_claim", "set_claim_data", "grouper"]),
], ids=["killed-waiting-for-grouper", "killed-after-claim-final-was-done"])
def test_a_job_survives_the_server_being_killed(runtime, settings, grouper, tmp_path, method, after_work,
                                                done_before):
    key = crypto.generate_key()
    emulator = create_emulator_app(EmulatorConfig(key_hex=key, database_url=f"sqlite:///{tmp_path / 'ek.db'}",
                                                  grouper=grouper, protocol="5.1"))
    emulator.register_coder(CODER_NIK, CODER_NAME)
    held = HeldCall(emulator, key, method, after_work=after_work)
    url, stop_emulator = serve_wsgi(held)
    ledger = EKlaimLedger(emulator)
    case = load_case("02-hip-replacement-special-cmg")
    post_transaction(runtime, case.transaction)  # the SIMRS's write, committed before any server runs
    server = _serve(settings, url, key)
    restarted = None
    try:
        assert held.arrived.wait(120), server.stderr.read() if server.poll() is not None else "no call arrived"
        server.kill()
        server.wait(30)
        assert server.returncode == -signal.SIGKILL
        [row] = jobs_of(runtime, case.claim_id)
        assert (row.status, steps_of(runtime, row.id)) == ("running", done_before)
        held.release.set()  # the held call ends, its answer going to a dead socket

        restarted = _serve(settings, url, key)
        assert _wait_for(lambda: jobs_of(runtime, case.claim_id)[0].status == "done"), restarted.stderr.read()
    finally:
        held.release.set()
        for process in (server, restarted):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.communicate(timeout=30)
        stop_emulator()
        emulator.close()

    [row] = jobs_of(runtime, case.claim_id)
    assert (row.status, row.attempts, row.last_error) == ("done", 0, None)
    assert steps_of(runtime, row.id) == SUBMIT_STEPS
    [held_claim] = ledger.claims(case.sep)
    assert (held_claim.deleted_at, held_claim.klaim_status_cd, held_claim.kemenkes_dc_status_cd) == (
        None, "final", "sent")
    events = ledger.events(case.sep)
    assert (events.count("new_claim"), events.count("claim_final")) == (1, 1)
    assert held.calls["new_claim"] == 1  # the restarted server did not open the claim again
    claim = read(runtime, "Claim", case.claim_id)
    assert processing(claim) == "signed"
    bundle = signed_bundle(runtime, case.claim_id)
    assert verify_bundle(bundle, trust=runtime.signing.trust_policy()).valid
    assert bundle["entry"][0]["resource"] == signed_content(claim)
    verify_independently(bundle)
