"""The standalone emulator (`fhirclaim eklaim-emulator`, waitress) and `fhirclaim keys eklaim`."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from eklaim_kit import new_claim_from_manual, outpatient_claim_data

from fhirclaim.cli import main
from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.emulator.server import ensure_key_file, parse_coder, read_key
from fhirclaim.eklaim.errors import EKlaimDebugModeRefused, EKlaimError
from fhirclaim.eklaim.transport import HttpTransport


def test_keys_eklaim_prints_a_fresh_key():
    runner = CliRunner()
    first, second = runner.invoke(main, ["keys", "eklaim"]), runner.invoke(main, ["keys", "eklaim"])
    assert first.exit_code == 0 and re.fullmatch(r"[0-9a-f]{64}\n", first.output)
    assert first.output != second.output


def test_the_default_key_file_is_generated_once_with_mode_0600(tmp_path):
    path, created = ensure_key_file(None, tmp_path)
    assert created and path == tmp_path / "eklaim.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = read_key(path)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    again, created_again = ensure_key_file(None, tmp_path)
    assert (again, created_again, read_key(again)) == (path, False, key)


def test_a_named_key_file_must_exist_and_hold_a_key(tmp_path):
    with pytest.raises(click.ClickException):
        ensure_key_file(tmp_path / "missing.key", tmp_path)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    assert ensure_key_file(bad, tmp_path) == (bad, False)
    with pytest.raises(click.ClickException) as caught:
        read_key(bad)
    assert "not a key" not in str(caught.value.message)


@pytest.mark.parametrize(("text", "expected"), [("123123123123:INACBG", ("123123123123", "INACBG")),
                                                (" 1:DR. A: B ", ("1", "DR. A: B"))])
def test_parse_coder(text, expected):
    assert parse_coder(text) == expected


@pytest.mark.parametrize("text", ["123123123123", ":NAME", "123:", ""])
def test_parse_coder_refuses_malformed(text):
    with pytest.raises(click.BadParameter):
        parse_coder(text)


def start_emulator(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, str, str]:
    """Run the CLI command as a user would; returns the process, the URL it printed and its output so far."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from fhirclaim.cli import main; main()", "eklaim-emulator", "--port", "0",
         "--data-dir", str(tmp_path / "data"), "--coder", "123123123123:INACBG", "--protocol", "5.1", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in process.stdout:
        lines.append(line)
        found = re.search(r"listening at (http://\S+)", line)
        if found:
            return process, found.group(1), "".join(lines)
    process.wait(10)
    raise AssertionError(f"emulator did not start: {''.join(lines)} {process.stderr.read()}")


def test_the_standalone_emulator_serves_ws_php_with_a_generated_key(tmp_path):
    process, url, output = start_emulator(tmp_path)
    try:
        key_path = tmp_path / "data" / "eklaim.key"
        key = read_key(key_path)
        assert url.endswith("/E-Klaim/ws.php") and str(key_path) in output and key not in output
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        transport = HttpTransport(url, timeout=30)
        client = EKlaimClient(transport, key)
        client.new_claim(new_claim_from_manual())
        client.set_claim_data("1710R01011160000249", outpatient_claim_data())
        assert client.grouper("1710R01011160000249").cbg.code
        with pytest.raises(EKlaimError) as caught:
            client.new_claim(new_claim_from_manual())
        assert caught.value.error_no == "E2007"
        transport.close()
    finally:
        process.terminate()
        assert process.wait(10) == 0, "SIGTERM stops the emulator cleanly"
    assert (tmp_path / "data" / "eklaim-emulator.db").is_file()


def test_the_standalone_emulator_with_a_key_file_and_no_debug_mode(tmp_path):
    key_file = tmp_path / "my.key"
    key_file.write_text(crypto.generate_key())
    process, url, output = start_emulator(tmp_path, "--key-file", str(key_file), "--no-debug-mode")
    try:
        assert "mode=debug refused" in output and not (tmp_path / "data" / "eklaim.key").exists()
        transport = HttpTransport(url, timeout=30)
        with pytest.raises(EKlaimDebugModeRefused):
            EKlaimClient(transport, read_key(key_file), debug=True).get_claim_data("X")
        with pytest.raises(EKlaimError) as caught:
            EKlaimClient(transport, read_key(key_file)).get_claim_data("X")
        assert caught.value.error_no == "E2004"
        transport.close()
    finally:
        process.terminate()
        assert process.wait(10) == 0, "SIGTERM stops the emulator cleanly"
