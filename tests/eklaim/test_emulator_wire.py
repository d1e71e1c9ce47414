"""The emulator's side of the wire: request bytes in, armoured answers out; JSON judged like PHP's json_decode;
a wrong key, debug mode and HTTP-level misuse."""

from __future__ import annotations

import json
import re

import pytest
from eklaim_kit import MANUAL
from werkzeug.test import Client

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.errors import error_message

ARMOUR = re.compile(r"\A----BEGIN ENCRYPTED DATA----\r\n((?:[A-Za-z0-9+/=]{1,76}\r\n)+)"
                    r"----END ENCRYPTED DATA----\r\n\Z")


def encrypted_answer(app, key: str, plaintext: bytes | str) -> dict:
    body = app.handle(crypto.encrypt(plaintext, key).encode("ascii"))
    text = body.decode("ascii")
    assert ARMOUR.match(text), text[:80]
    return json.loads(crypto.decrypt(text, key))


def debug_answer(app, raw: bytes) -> dict:
    return json.loads(app.handle(raw, debug=True))


def test_answers_are_armoured_with_four_dashes_crlf_and_chunk_split(app, key):
    answer = encrypted_answer(app, key, json.dumps(MANUAL["new_claim"]))
    assert answer["metadata"] == {"code": 200, "message": "Ok"}
    assert set(answer["response"]) == {"patient_id", "admission_id", "hospital_admission_id"}


def test_answers_are_json_escaped_like_php(app, key):
    request = json.loads(json.dumps(MANUAL["new_claim"]))
    request["data"]["nama_pasien"] = "SITI ÑURHALIZA"
    encrypted_answer(app, key, json.dumps(request, ensure_ascii=False))
    raw = crypto.decrypt(app.handle(crypto.encrypt(json.dumps({"metadata": {"method": "get_claim_data"},
                                                               "data": {"nomor_sep": request["data"]["nomor_sep"]}}),
                                                   key).encode()), key)
    assert b"\\u00d1URHALIZA" in raw and raw.isascii()


def test_a_request_under_another_key_is_a_key_mismatch(app, key):
    body = crypto.encrypt(json.dumps(MANUAL["new_claim"]), crypto.generate_key()).encode("ascii")
    answer = json.loads(crypto.decrypt(app.handle(body), key))
    assert answer["metadata"] == {"code": 400, "message": error_message("E2031"), "error_no": "E2031"}


@pytest.mark.parametrize("body", [b"", b"not a payload", b"%%%%", crypto.encrypt("x", "00" * 32).encode()[:-8]])
def test_every_undecryptable_body_gets_the_same_answer(app, key, body):
    answer = json.loads(crypto.decrypt(app.handle(body), key))
    assert answer["metadata"]["error_no"] == "E2031"


@pytest.mark.parametrize(("raw", "error_no"), [
    (b"[" * 513 + b"]" * 513, "E2021"),
    (b'{"metadata": {"method": "new_claim"]}', "E2022"),
    (b'{"metadata": {"method": "new\x01claim"}}', "E2023"),
    (b'{"metadata": {"method": "new_claim"},}', "E2024"),
    (b"", "E2024"),
    (b'{"metadata": {"method": "new_claim"}, "data": {"nama_pasien": "\xff\xfe"}}', "E2025"),
    (b'{"metadata": {"method": "new_claim"}, "data": {"nama_pasien": "\\ud800"}}', "E2026"),
    (b'["metadata"]', "E2001"),
    (b'{"metadata": "new_claim"}', "E2001"),
    (b'{"data": {}}', "E2001"),
    (b'{"metadata": {"method": 7}}', "E2001"),
])
def test_json_is_judged_like_php_json_decode(app, key, raw, error_no):
    for answer in (debug_answer(app, raw), encrypted_answer(app, key, raw)):
        assert answer["metadata"] == {"code": 400, "message": error_message(error_no), "error_no": error_no}


def test_nesting_up_to_512_levels_is_fine(app):
    raw = b'{"metadata": {"method": "get_claim_status"}, "data": {"x": ' + b"[" * 510 + b"]" * 510 + b"}}"
    assert debug_answer(app, raw)["metadata"]["error_no"] == "E2004"  # decoded; then the SEP is unknown


def test_brackets_inside_strings_do_not_count(app):
    raw = b'{"metadata": {"method": "get_claim_status"}, "data": {"nomor_sep": "]}[{\\"]"}}'
    assert debug_answer(app, raw)["metadata"]["error_no"] == "E2004"


def test_debug_mode_is_plain_json_both_ways(app):
    http = Client(app)
    response = http.post("/E-Klaim/ws.php?mode=debug", data=json.dumps(MANUAL["new_claim"]),
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["metadata"] == {"code": 200, "message": "Ok"}


def test_debug_mode_can_be_refused(make_app):
    http = Client(make_app(allow_debug=False))
    response = http.post("/E-Klaim/ws.php?mode=debug", data=json.dumps(MANUAL["new_claim"]))
    assert response.status_code == 200 and response.data == b"MODE DEBUG IS NOT ALLOWED"


def test_encrypted_mode_over_wsgi(app, key):
    http = Client(app)
    response = http.post("/E-Klaim/ws.php", data=crypto.encrypt(json.dumps(MANUAL["new_claim"]), key),
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and ARMOUR.match(response.get_data(as_text=True))
    assert json.loads(crypto.decrypt(response.data, key))["metadata"]["code"] == 200


def test_http_misuse(make_app, key):
    http = Client(make_app(max_body_bytes=1024))
    assert http.post("/E-Klaim/other.php", data="x").status_code == 404
    assert http.get("/E-Klaim/ws.php").status_code == 405
    assert http.post("/E-Klaim/ws.php", data=b"A" * 2048).status_code == 413
