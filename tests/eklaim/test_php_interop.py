"""Interoperability with the manual's own PHP code (mc_encrypt / mc_decrypt, run by php-cli): what Python encrypts
PHP decrypts and vice versa, and a PHP client written from the manual drives the emulator over HTTP through
new_claim → set_claim_data → grouper → claim_final → get_claim_data. Skipped where php-cli (with openssl and
mbstring) is not installed (Debian: apt-get install php-cli php-mbstring)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eklaim_kit import CODER_NIK, MANUAL

from fhirclaim.eklaim import crypto

PHP_CLIENT = Path(__file__).resolve().parent / "php" / "eklaim_manual_client.php"


def _php_ready() -> bool:
    if shutil.which("php") is None:
        return False
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout.lower()
    return "openssl" in modules and "mbstring" in modules


pytestmark = pytest.mark.skipif(not _php_ready(), reason="php-cli with openssl and mbstring not installed")


def php(*args: str, stdin: str) -> str:
    """Run the PHP client; bytes in and out, so that CRLF line ends survive."""
    done = subprocess.run(["php", str(PHP_CLIENT), *args], input=stdin.encode("utf-8"), capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize("plaintext", [
    json.dumps(MANUAL["set_claim_data"]),
    '{"nama_pasien":"SITI ÑURHALIZA"}',
    "x" * 16,  # a whole block: PKCS#7 adds a full block of padding
])
def test_php_decrypts_what_python_encrypts_and_back(key, plaintext):
    assert php("decrypt", key, stdin=crypto.encrypt(plaintext, key)) == plaintext
    payload = php("encrypt", key, stdin=plaintext)
    assert payload.endswith("\r\n") and all(len(line) <= 76 for line in payload.split("\r\n"))
    assert crypto.decrypt(payload, key).decode("utf-8") == plaintext


def test_php_sees_a_bad_signature_as_the_manual_says(key):
    assert php("decrypt", key, stdin=crypto.encrypt("secret", crypto.generate_key())) == "SIGNATURE_NOT_MATCH"


def test_a_php_client_from_the_manual_drives_the_emulator(app, key, serve):
    url = serve(app)
    sep = MANUAL["new_claim"]["data"]["nomor_sep"]

    def call(request: dict) -> dict:
        answer = json.loads(php("call", url, key, stdin=json.dumps(request)))
        assert answer["metadata"]["code"] == 200, answer
        return answer

    call(MANUAL["new_claim"])
    call(MANUAL["set_claim_data"])
    grouping = call({"metadata": {"method": "grouper", "stage": "1"}, "data": {"nomor_sep": sep}})
    options = "#".join(option["code"] for option in grouping.get("special_cmg_option", []))
    if options:
        grouping = call({"metadata": {"method": "grouper", "stage": "2"},
                         "data": {"nomor_sep": sep, "special_cmg": options}})
    call({"metadata": {"method": "claim_final"}, "data": {"nomor_sep": sep, "coder_nik": CODER_NIK}})
    record = call({"metadata": {"method": "get_claim_data"}, "data": {"nomor_sep": sep}})["response"]["data"]
    assert record["klaim_status_cd"] == "final" and record["nomor_sep"] == sep
    assert record["grouper"]["response"]["cbg"] == grouping["response"]["cbg"]
    assert record["diagnosa"] == "S71.0#A00.1" and record["los"] == "54"
