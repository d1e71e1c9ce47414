"""The production server as the image runs it: docker/entrypoint.sh starts granian on the app factory
(`fhirclaim.app:create_app`), which builds its Runtime and background threads in granian's worker process. A real
process, real HTTP, real OAuth2; the same script the Dockerfile's ENTRYPOINT runs, on this machine's granian."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
CASE = "01-outpatient-visit"
MAX_BODY = 256 * 1024  # FHIRCLAIM_MAX_BODY_BYTES of the server here
PACKAGE = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _until(condition, seconds: float = 60):
    """`condition()`'s first truthy answer, asked again at once for at most `seconds` (a bound, not a wait): each
    ask is a request that waits for its answer, and a connection refused before granian listens is a moment's."""
    deadline = time.monotonic() + seconds
    while True:
        answer = condition()
        if answer or time.monotonic() > deadline:
            return answer


@pytest.fixture
def production(tmp_path, database_url):
    """The entrypoint serving on a free port of 127.0.0.1: (base URL, a facility client's headers, the process)."""
    env = {**os.environ, "FHIRCLAIM_DATABASE_URL": database_url, "FHIRCLAIM_DATA_DIR": str(tmp_path / "d"),
           "FHIRCLAIM_HOST": "127.0.0.1", "FHIRCLAIM_PORT": str(_free_port()),
           "FHIRCLAIM_MAX_BODY_BYTES": str(MAX_BODY),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # granian beside python
    added = subprocess.run([sys.executable, "-m", "fhirclaim.cli", "clients", "add", "--role", "facility", "--org",
                            "10000004", "--json"], env=env, check=True, capture_output=True, text=True)
    log = tmp_path / "server.log"  # a file, not a pipe: its JSON log lines never wait for a reader
    with log.open("w") as stderr:
        process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)  # its group: granian and its workers
    base = f"http://127.0.0.1:{env['FHIRCLAIM_PORT']}"

    def answering():
        if process.poll() is not None:
            raise AssertionError(f"granian ended with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            return requests.get(f"{base}/fhir/metadata", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        assert _until(answering), "granian did not answer within 60 s"
        token = requests.post(f"{base}/oauth2/v1/accesstoken", timeout=10,
                              data={"grant_type": "client_credentials", **json.loads(added.stdout)}).json()
        yield f"{base}/fhir", {"Authorization": f"Bearer {token['access_token']}"}, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def test_granian_serves_the_app_factory_as_the_image_runs_it(production):
    base, auth, process = production
    headers = {**auth, "Content-Type": "application/fhir+json", "X-Request-ID": "prod-1"}
    patient = {"resourceType": "Patient", "identifier": [{"system": "https://fhir.kemkes.go.id/id/nik",
                                                          "value": "3171000000000001"}], "gender": "female"}
    created = requests.post(f"{base}/Patient", data=json.dumps(patient), headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == "prod-1"
    assert created.headers["Location"].startswith(f"{base}/Patient/{created.json()['id']}/_history/1")
    read = requests.get(f"{base}/Patient/{created.json()['id']}", headers=auth, timeout=10)
    assert read.status_code == 200 and read.json() == created.json()
    assert read.headers["ETag"] == 'W/"1"'
    found = requests.get(f"{base}/Patient", params={"identifier": "https://fhir.kemkes.go.id/id/nik|3171000000000001"},
                         headers=auth, timeout=10).json()
    assert [entry["resource"]["id"] for entry in found["entry"]] == [created.json()["id"]]

    refused = requests.get(f"{base}/Patient/{created.json()['id']}", timeout=10)
    assert refused.status_code == 401 and refused.json()["resourceType"] == "OperationOutcome"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")

    # A body over the limit is refused from its Content-Length, not read: an OperationOutcome, not granian's error.
    too_big = requests.post(f"{base}/Patient", data=b"{" + b" " * MAX_BODY + b"}", headers=headers, timeout=60)
    assert too_big.status_code == 413 and too_big.json()["resourceType"] == "OperationOutcome"

    process.send_signal(signal.SIGTERM)  # `docker stop`
    assert process.wait(timeout=30) == 0, "a signalled granian stops cleanly"


def test_the_pipeline_runs_in_granians_worker(production):
    """The factory's Runtime starts the pipeline threads in granian's worker: a SIMRS transaction's Claim is grouped
    there, as in `fhirclaim serve`."""
    base, auth, _ = production
    transaction = json.loads((ROOT / "examples" / CASE / "transaction.json").read_text(encoding="utf-8"))
    expected = json.loads((ROOT / "examples" / "expected-results.json").read_text(encoding="utf-8"))["cases"][CASE]
    claim_id = next(e["resource"]["id"] for e in transaction["entry"] if e["resource"]["resourceType"] == "Claim")
    answer = requests.post(base, data=json.dumps(transaction), timeout=60,
                           headers={**auth, "Content-Type": "application/fhir+json"})
    assert answer.status_code == 200, answer.text

    def package():
        claim = requests.get(f"{base}/Claim/{claim_id}", headers=auth, timeout=10).json()
        return next((e for e in claim.get("extension", []) if e["url"] == PACKAGE), None)

    grouped = _until(package, 120)
    assert grouped, "the Claim was not grouped within 120 s"
    base_package = next(e for e in grouped["extension"] if e["url"] == "basePackage")
    code = next(e for e in base_package["extension"] if e["url"] == "code")
    assert code["valueCodeableConcept"]["coding"][0]["code"] == expected["cbg"]


def test_a_stopped_worker_closes_its_runtime(production, tmp_path, database_url):
    """granian tells the app nothing when it stops a worker: the Runtime's close runs as the worker's process ends
    (`create_app`), as `fhirclaim serve` closes its own. Seen here by the security log: the refusals after the
    first of a minute are counted in memory, and written by the close."""
    base, _, process = production
    for _ in range(3):
        assert requests.get(f"{base}/Patient", timeout=10).status_code == 401
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    runtime = Runtime(Settings(data_dir=tmp_path / "d", database_url=database_url, run_worker=False))
    try:
        assert sum(row["count"] for row in runtime.security_log.recent()) == 3
    finally:
        runtime.close()


def test_a_stop_right_after_the_start_ends_every_worker(production):
    """SIGTERM as soon as the first worker answers. The others (four on PostgreSQL) may still be building the app,
    without a signal handler of their own yet: they miss the signal, and granian waited for them without end (2 of
    3 starts on PostgreSQL here) until the entrypoint's kill timeout."""
    _, _, process = production
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, "a signalled granian stops although a worker missed the signal"


def test_a_worker_that_cannot_start_ends_the_server(tmp_path):
    """An unreachable database fails each worker's start: the server ends, saying why, for the container's restart
    policy to start it again with its backoff (granian's respawning started them again at once, 76 times in 30 s)."""
    env = {**os.environ, "FHIRCLAIM_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "FHIRCLAIM_DATA_DIR": str(tmp_path / "d"), "FHIRCLAIM_HOST": "127.0.0.1",
           "FHIRCLAIM_PORT": str(_free_port()),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    try:
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    text = log.read_text()
    assert "cannot connect to the database postgresql+psycopg://nobody@127.0.0.1:1/none" in text
