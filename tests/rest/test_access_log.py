"""Each request's id and its access-log line (`api/access_log.RequestLog`, the app's outermost WSGI layer): the
caller's X-Request-ID is echoed, or a new id is made; every answer — a read, a refusal, an unknown route, an
unexpected error — carries it and is logged once with its method, path, status and ms."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

import pytest

from testkit import authorized


def _access_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "fhirclaim.access"]


def test_the_callers_request_id_is_echoed_and_logged_with_the_request(app, caplog):
    client = authorized(app)
    created = client.post("/Patient", {"resourceType": "Patient", "gender": "female"})
    caplog.set_level(logging.INFO, logger="fhirclaim.access")
    answer = client.get(f"/Patient/{created.json['id']}", headers={"X-Request-ID": "trace-42"})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "trace-42"
    [line] = _access_lines(caplog)
    assert line.getMessage() == "request"
    assert (line.request_id, line.method, line.path, line.status) == ("trace-42", "GET",
                                                                      f"/fhir/Patient/{created.json['id']}", 200)
    assert isinstance(line.ms, float) and line.ms >= 0


@pytest.mark.parametrize("path, status", [("/fhir/Patient/p1", 401), ("/fhir/NoSuchThing/x/y/z", 404)])
def test_a_refusal_gets_a_new_request_id_and_is_logged(app, caplog, path, status):
    caplog.set_level(logging.INFO, logger="fhirclaim.access")
    answer = app.test_client().get(path)  # no token
    assert answer.status_code == status
    request_id = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = _access_lines(caplog)
    assert (line.request_id, line.method, line.path, line.status) == (request_id, "GET", path, status)


def test_each_request_gets_its_own_id(app):
    client = app.test_client()
    ids = {client.get("/fhir/metadata").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_the_path_is_logged_decoded(app, caplog):
    caplog.set_level(logging.INFO, logger="fhirclaim.access")
    app.test_client().get("/fhir/Patient/caf%C3%A9")
    [line] = _access_lines(caplog)
    assert line.path == "/fhir/Patient/café"


def test_an_unexpected_error_names_its_request_id(app, caplog, monkeypatch):
    from fhirclaim.interactions.service import FhirService

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    client = authorized(app)
    monkeypatch.setattr(FhirService, "read", broken)
    caplog.set_level(logging.INFO)
    answer = client.get("/Patient/p1", headers={"X-Request-ID": "trace-500"})
    assert answer.status_code == 500 and answer.headers["X-Request-ID"] == "trace-500"
    assert "request id trace-500" in answer.get_data(as_text=True)
    assert "boom" not in answer.get_data(as_text=True)  # no stack trace to the client
    [error] = [record for record in caplog.records if record.getMessage() == "unexpected error"]
    assert error.request_id == "trace-500" and error.exc_info
    [line] = _access_lines(caplog)
    assert (line.request_id, line.status) == ("trace-500", 500)


def test_a_log_line_is_one_json_object_with_the_extra_fields_in_order():
    from fhirclaim.logging_setup import JsonFormatter

    formatter = JsonFormatter()
    record = logging.makeLogRecord({"name": "fhirclaim.access", "msg": "request %s", "args": ("done",),
                                    "levelname": "INFO", "created": 1796312728.4999996})
    record.request_id, record.status, record._hidden = "r1", 200, "never written"
    assert json.loads(formatter.format(record)) == {
        "time": datetime.fromtimestamp(1796312728.4999996, timezone.utc).isoformat(timespec="milliseconds"),
        "level": "info", "logger": "fhirclaim.access", "message": "request done", "request_id": "r1", "status": 200}
    assert list(json.loads(formatter.format(record)))[-2:] == ["request_id", "status"]
    assert formatter._time(1796312728.4999996) == "2026-12-03T15:45:28.500+00:00"  # rounded as datetime rounds
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert "ValueError: bad" in json.loads(formatter.format(record))["error"]
