"""`fhirclaim serve` as a user runs it: a real process that prints its base URL and answers FHIR."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import requests


def test_serve_prints_base_url_and_serves_fhir(tmp_path, database_url):
    env = {**os.environ, "FHIRCLAIM_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirclaim.cli", "serve", "--port", "0", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/fhir)", line)
        assert match, line + process.stderr.read()
        base = match.group(1)
        statement = requests.get(f"{base}/metadata", timeout=10).json()
        assert statement["resourceType"] == "CapabilityStatement"
        created = requests.post(f"{base}/Patient", json={"resourceType": "Patient", "gender": "male"}, timeout=10)
        assert created.status_code == 201
        assert requests.get(created.headers["Location"], timeout=10).json()["gender"] == "male"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert (tmp_path / "d").is_dir()
