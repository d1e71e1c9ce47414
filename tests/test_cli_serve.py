"""`fhirclaim serve` and `fhirclaim clients` as a user runs them: real processes, real HTTP, real OAuth2."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import requests
from click.testing import CliRunner

from fhirclaim.cli import main


def _start(tmp_path, database_url, *args: str, preexec_fn=None) -> tuple[subprocess.Popen, str, list[str]]:
    env = {**os.environ, "FHIRCLAIM_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirclaim.cli", "serve", "--port", "0", "--data-dir", str(tmp_path / "d"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=preexec_fn)
    lines = []
    for line in process.stdout:
        lines.append(line)
        match = re.search(r"serving FHIR R4 at (http://127\.0\.0\.1:\d+/fhir)", line)
        if match:
            assert len(lines) == 1, "the base URL is the server's first line"
            lines += [process.stdout.readline() for _ in range(6 if "--sandbox" in args else 1)]
            return process, match.group(1), lines
    raise AssertionError("".join(lines) + process.stderr.read())


def _stop(process: subprocess.Popen, number: int = signal.SIGINT) -> None:
    process.send_signal(number)
    assert process.wait(timeout=15) == 0, "a signalled server stops cleanly"


def test_sandbox_serve_prints_clients_and_serves_fhir_with_tokens(tmp_path, database_url):
    process, base, lines = _start(tmp_path, database_url, "--sandbox")
    try:
        clients = json.loads((tmp_path / "d" / "sandbox-clients.json").read_text())
        assert set(clients) == {"facility", "eklaim", "bpjs", "admin"}
        assert clients["facility"]["org"] == clients["eklaim"]["org"] == "10000004"
        assert clients["bpjs"]["org"] is None
        assert oct((tmp_path / "d" / "sandbox-clients.json").stat().st_mode & 0o777) == "0o600"
        assert any(clients["facility"]["client_id"] in line for line in lines)

        assert requests.get(f"{base}/metadata", timeout=10).json()["resourceType"] == "CapabilityStatement"
        assert requests.get(f"{base}/Patient", timeout=10).status_code == 401

        auth_url = base.replace("/fhir", "/oauth2/v1")
        facility = clients["facility"]
        token = requests.post(f"{auth_url}/accesstoken", params={"grant_type": "client_credentials"},
                              data={"client_id": facility["client_id"], "client_secret": facility["client_secret"]},
                              timeout=10).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        created = requests.post(f"{base}/Patient", json={"resourceType": "Patient", "gender": "male"},
                                headers=headers, timeout=10)
        assert created.status_code == 201
        assert requests.get(created.headers["Location"], headers=headers, timeout=10).json()["gender"] == "male"
    finally:
        _stop(process)
    # a restart keeps the same sandbox clients; SIGTERM (docker stop, systemd) stops it as cleanly as Ctrl-C
    process, _, _ = _start(tmp_path, database_url, "--sandbox")
    try:
        assert json.loads((tmp_path / "d" / "sandbox-clients.json").read_text()) == clients
    finally:
        _stop(process, signal.SIGTERM)
    assert "stopping: finishing the jobs in hand" in process.stderr.read()


def test_serve_stops_on_sigint_even_when_started_with_sigint_ignored(tmp_path, database_url):
    """A shell's background job (`fhirclaim serve &` in a script) inherits SIGINT ignored."""
    process, _, _ = _start(tmp_path, database_url, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    _stop(process, signal.SIGINT)


def test_clients_add_json_contract(tmp_path, database_url):
    runner = CliRunner()
    result = runner.invoke(main, ["clients", "add", "--role", "facility", "--org", "RS-1", "--data-dir",
                                  str(tmp_path / "d"), "--database-url", database_url, "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)  # stderr says which database was used; stdout is the JSON alone
    assert set(created) == {"client_id", "client_secret"} and len(created["client_secret"]) >= 40
    listed = runner.invoke(main, ["clients", "list", "--data-dir", str(tmp_path / "d"), "--database-url",
                                  database_url])
    assert created["client_id"] in listed.output and created["client_secret"] not in listed.output
    missing_org = runner.invoke(main, ["clients", "add", "--role", "eklaim", "--data-dir", str(tmp_path / "d"),
                                       "--database-url", database_url, "--json"])
    assert missing_org.exit_code != 0 and "--org" in missing_org.output
