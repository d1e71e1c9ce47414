"""Client ⇄ emulator over real HTTP (waitress on a free local port), and the transport's failure modes against
real sockets: a server that never answers, a closed port, HTTP error statuses."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator

import pytest
import requests
from eklaim_kit import CODER_NIK, MANUAL, manual_claim_data, new_claim_from_manual
from pypdf import PdfReader

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.errors import EKlaimDebugModeRefused, EKlaimError, EKlaimTransportError
from fhirclaim.eklaim.messages import parse_claim_txt
from fhirclaim.eklaim.transport import HttpTransport

SEP = "1710R01011160000249"


def test_the_whole_flow_over_http(http_client, app):
    client = http_client
    created = client.new_claim(new_claim_from_manual())
    assert created.admission_id == 1
    client.set_claim_data(SEP, manual_claim_data())
    stage_one = client.grouper(SEP)
    chosen = [option.code for option in stage_one.special_cmg_option]
    grouping = client.grouper(SEP, chosen) if chosen else stage_one
    assert grouping.cbg.code and not grouping.is_error
    client.claim_final(SEP, CODER_NIK)
    [status] = client.send_claim_individual(SEP)
    assert (status.nomor_sep, status.kemkes_dc_status) == (SEP, "sent")
    record = client.get_claim_data(SEP)
    assert record.is_final and record.grouping.cbg == grouping.cbg
    assert record.data["kemenkes_dc_status_cd"] == "sent"
    app.set_bpjs_claim_status(SEP, "40", "40_Proses_Cabang")
    assert client.get_claim_status(SEP).nm_status_sep == "40_Proses_Cabang"

    text = client.pull_claim("2016-12-18", "2016-12-18", 1)
    assert text.split("\n", 1)[0] == MANUAL["pull_claim_header"]
    assert [row["SEP"] for row in parse_claim_txt(text)] == [SEP]

    pdf = PdfReader(io.BytesIO(client.claim_print(SEP)))
    page_text = "\n".join(page.extract_text() for page in pdf.pages)
    for expected in (SEP, "NAMA TEST PASIEN", "123-45-67", "S71.0", "81.52", grouping.cbg.code, "26/10/2016",
                     f"{grouping.cbg.tariff:,}"):
        assert expected in page_text, expected

    with pytest.raises(EKlaimError) as caught:
        client.delete_claim(SEP, CODER_NIK)
    assert caught.value.error_no == "E2009"  # a final claim must be re-edited before it can be deleted


class Recorder:
    """Wraps the emulator to keep what arrived on the wire."""

    def __init__(self, app) -> None:
        self.app, self.seen = app, []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.seen.append((environ["CONTENT_TYPE"], environ.get("QUERY_STRING", ""), body))
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def test_the_bytes_on_the_wire_are_the_manuals(app, key, serve, http_transport):
    recorder = Recorder(app)
    transport = http_transport(serve(recorder))
    EKlaimClient(transport, key).new_claim(new_claim_from_manual())
    content_type, query, body = recorder.seen[0]
    assert content_type == "application/x-www-form-urlencoded" and query == ""
    assert re.fullmatch(rb"(?:[A-Za-z0-9+/=]{1,76}\r\n)+", body)
    EKlaimClient(transport, key, debug=True).get_claim_data(SEP)
    assert recorder.seen[1][1] == "mode=debug" and recorder.seen[1][2].startswith(b'{"metadata"')


def test_debug_mode_refused_over_http(make_app, key, serve, http_transport):
    client = EKlaimClient(http_transport(serve(make_app(allow_debug=False))), key, debug=True)
    with pytest.raises(EKlaimDebugModeRefused):
        client.get_claim_data(SEP)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_a_silent_server_times_out_and_reads_are_retried(key, silent_port):
    pauses: list[float] = []
    client = EKlaimClient(HttpTransport(f"http://127.0.0.1:{silent_port}/E-Klaim/ws.php", timeout=0.2), key,
                          retries=1, backoff=0.01, sleep=pauses.append)
    with pytest.raises(EKlaimTransportError) as caught:
        client.get_claim_data(SEP)
    assert caught.value.retryable and "did not answer" in str(caught.value) and pauses == [0.01]
    pauses.clear()
    with pytest.raises(EKlaimTransportError):
        client.claim_final(SEP, CODER_NIK)
    assert pauses == []  # a write is never repeated


def test_a_closed_port_is_a_retryable_transport_error(key):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = EKlaimClient(HttpTransport(f"http://127.0.0.1:{port}/E-Klaim/ws.php", timeout=2), key, retries=0)
    with pytest.raises(EKlaimTransportError) as caught:
        client.get_claim_status(SEP)
    assert caught.value.retryable and "cannot connect" in str(caught.value)


@pytest.mark.parametrize(("status", "retryable"), [("500 Internal Server Error", True), ("403 Forbidden", False)])
def test_http_error_statuses(key, serve, http_transport, status, retryable):
    def failing(environ, start_response):
        start_response(status, [("Content-Type", "text/html")])
        return [b"<html>error</html>"]

    client = EKlaimClient(http_transport(serve(failing)), key, retries=0)
    with pytest.raises(EKlaimTransportError) as caught:
        client.get_claim_data(SEP)
    assert (caught.value.status, caught.value.retryable) == (int(status[:3]), retryable)


def test_a_wrong_path_is_404(app, key, serve, http_transport):
    url = serve(app).replace("ws.php", "wrong.php")
    with pytest.raises(EKlaimTransportError) as caught:
        EKlaimClient(http_transport(url), key).get_claim_data(SEP)
    assert caught.value.status == 404


def test_encrypted_answers_over_http_are_armoured(app, key, serve):
    url = serve(app)
    answer = requests.post(url, data=crypto.encrypt('{"metadata":{"method":"get_claim_status"},"data":{}}', key),
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert answer.text.startswith("----BEGIN ENCRYPTED DATA----\r\n")
    assert answer.text.endswith("\r\n----END ENCRYPTED DATA----\r\n")
