"""The lean read (`api.lean_read`) answers exactly what Flask answers: a matrix of reads and near-reads goes
through the app with the layer and through the same app without it, and status, headers and body must be the same
(bar X-Request-ID's value when the server makes one up). The plain reads, and their 401, 404 and 410, must not reach
Flask, and everything else must: the layer serves only what it says it serves."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest
from sqlalchemy import event
from werkzeug.test import run_wsgi_app

from fhirclaim.api.http import PlainRead, plain_read
from fhirclaim.fhir import jsonio
from fhirclaim.store.repository import StoredResource

from testkit import HOSPITAL, OTHER_HOSPITAL, authorized, role_headers

ROLES = ("facility", "facility-B", "eklaim", "bpjs", "admin", "unknown", "revoked", "expired", "disabled", "basic",
         "none")


@pytest.fixture
def world(apps):
    """Resources of two hospitals (one deleted, one with two versions), an AuditEvent, and each role's token."""
    lean = apps[0]
    runtime = lean.extensions["fhirclaim"]
    hospital, other = authorized(lean), authorized(lean, org=OTHER_HOSPITAL)
    own = hospital.create({"resourceType": "Patient", "gender": "female"})["id"]
    hospital.put_resource({"resourceType": "Patient", "id": own, "gender": "female", "active": True})
    gone = hospital.create({"resourceType": "Patient", "gender": "male"})["id"]
    assert hospital.delete(f"/Patient/{gone}").status_code == 200
    theirs = other.create({"resourceType": "Patient", "gender": "male"})["id"]
    organization = hospital.put_resource({"resourceType": "Organization", "id": "rs-a", "name": "RS A"})["id"]
    tokens = role_headers(runtime)
    audit = authorized(lean, "admin").get("/AuditEvent?_count=1").json["entry"][0]["resource"]["id"]
    paths = [f"/fhir/Patient/{own}", f"/fhir/Patient/{gone}", f"/fhir/Patient/{theirs}", "/fhir/Patient/nobody",
             f"/fhir/Organization/{organization}", f"/fhir/AuditEvent/{audit}", f"/fhir/Unknown/{own}",
             f"/fhir/Patient/{own}/", f"/fhir/Patient/{own}/_history/1", f"/fhir/Patient/{own}/_history",
             "/fhir/Patient/_history", "/fhir/metadata", "/fhir/.well-known/jwks.json", "/fhir/Patient/$validate",
             f"/fhir/Patient/{own[:4]}%{ord(own[4]):02X}{own[5:]}", "/fhir/Patient/%C3%A9", "/fhir//Patient/x",
             "/fhir/OperationDefinition/Claim-submit", "/fhir/OperationDefinition/0", "/fhir/.well-known/0",
             "/fhir//0"]
    apps[2].paths.clear()  # what the set-up sent
    return tokens, paths


HEADERS = [{}, {"Accept": "*/*"}, {"Accept": "application/fhir+json"}, {"Accept": "application/fhir+xml"},
           {"Accept": "application/xml, text/html"}, {"Accept": "application/json, application/xml"},
           {"Accept": "text/html"}, {"If-None-Match": 'W/"2"'}, {"If-Modified-Since": "Thu, 03 Dec 2026 15:41:28 GMT"},
           {"X-Request-ID": "lean-17"}, {"X-Fhirclaim-Tenant": HOSPITAL}, {"X-Fhirclaim-Tenant": OTHER_HOSPITAL},
           {"X-Fhirclaim-Tenant": "not a tenant!"}, {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"},
           {"Host": "fhir.example.org:8443"}, {"Host": "a..b"}]
QUERIES = ["", "?_format=json", "?_format=xml", "?_pretty=true", "?_summary=true", "?_elements=id", "?"]


def _answer(app, method, path, token, headers):
    sent = dict(headers, **({"Authorization": token} if token else {}))
    response = app.test_client().open(path, method=method, headers=sent)
    got = [(name, value) for name, value in response.headers if name != "X-Request-ID" or "X-Request-ID" in headers]
    body = response.get_data()
    if body.startswith((b'{"resourceType":"Bundle"', b'{"resourceType":"CapabilityStatement"')):
        # a history's or the CapabilityStatement (Flask's, both): made afresh, with their own id and time, each time
        made = json.loads(body)
        body = {key: value for key, value in made.items() if key not in ("id", "meta", "date")}
        got = [(name, value) for name, value in got if name != "Content-Length"]
    return response.status_code, got, body


def test_the_lean_read_answers_what_flask_answers(apps, world):
    lean, flask_only, reached = apps
    tokens, paths = world
    cases = itertools.chain(
        itertools.product(["GET"], paths, ROLES, [{}], [""]),
        itertools.product(["GET"], paths[:3], ["facility", "bpjs", "admin", "unknown"], HEADERS, [""]),
        itertools.product(["GET", "HEAD"], paths[:2], ["facility", "admin"], [{}], QUERIES))
    statuses, compared = set(), 0
    for method, path, role, headers, query in cases:
        expected = _answer(flask_only, method, path + query, tokens[role], headers)
        assert _answer(lean, method, path + query, tokens[role], headers) == expected, (method, path, role, headers)
        statuses.add(expected[0])
        compared += 1
    assert compared > 400 and {200, 400, 401, 404, 406, 410} <= statuses
    assert compared - len(reached.paths) > 40  # the plain reads among them: answered by the layer


def test_only_plain_reads_and_their_refusals_skip_flask(apps, world):
    lean, _, reached = apps
    tokens, paths = world
    own = paths[0]
    client = lean.test_client()
    read = client.get(own, headers={"Authorization": tokens["facility"]})
    assert read.status_code == 200 and read.json["active"] is True and read.headers["ETag"] == 'W/"2"'
    assert client.get(paths[4], headers={"Authorization": tokens["admin"]}).json["name"] == "RS A"
    refused = [(paths[1], "facility", 410), (paths[2], "facility", 404), (paths[3], "facility", 404),
               (own, "unknown", 401), (own, "revoked", 401), (own, "expired", 401), (own, "disabled", 401)]
    for path, role, status in refused:
        assert client.get(path, headers={"Authorization": tokens[role]}).status_code == status, (path, role)
    assert reached.paths == []  # answered before Flask
    assert client.get(own).status_code == 401  # no Bearer token: nothing looked up, Flask answers
    assert client.get(own + "/", headers={"Authorization": tokens["facility"]}).status_code in (200, 404)
    assert client.get(own + "?_pretty=true", headers={"Authorization": tokens["facility"]}).status_code == 200
    assert client.get(own, headers={"Authorization": tokens["facility"], "Accept": "application/xml"}).status_code \
        == 406
    assert len(reached.paths) == 4  # every one of these Flask answered


def _token_checks(app, *request):
    """`_answer(app, *request)`, and how many statements it ran that read the token table."""
    engine = app.extensions["fhirclaim"].database.engine
    seen = []
    listener = lambda _c, _cur, statement, *_: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = _answer(app, *request)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return answer, sum("oauth_token" in statement for statement in seen)


def test_a_read_refused_for_its_token_or_its_resource_checks_the_token_once_and_answers_as_flask(apps, world):
    """A 401, 404 or 410 is the layer's answer, not Flask's after a second token check and read: the same status,
    headers (WWW-Authenticate, ETag, X-Request-ID) and OperationOutcome as Flask's, one token statement."""
    lean, flask_only, reached = apps
    tokens, paths = world
    own, gone, theirs, nobody = paths[:4]
    cases = [(own, "unknown", 401, "login", "The access token is not known"),
             (own, "revoked", 401, "login", "The access token was revoked"),
             (own, "expired", 401, "login", "The access token has expired"),
             (own, "disabled", 401, "login", "The client of this access token is disabled"),
             (gone, "facility", 410, "deleted", f"{gone.removeprefix('/fhir/')} was deleted"),
             (theirs, "facility", 404, "not-found", f"{theirs.removeprefix('/fhir/')} is not known"),
             (nobody, "facility", 404, "not-found", "Patient/nobody is not known")]
    for path, role, status, code, text in cases:
        headers = {"X-Request-ID": f"refused-{role}-{status}", "X-Forwarded-For": "10.9.8.7"}
        expected, flask_checks = _token_checks(flask_only, "GET", path, tokens[role], headers)
        got, lean_checks = _token_checks(lean, "GET", path, tokens[role], headers)
        assert got == expected, (path, role)
        assert (lean_checks, flask_checks) == (1, 1), (path, role)
        answer_status, answer_headers, body = got
        assert answer_status == status and json.loads(body)["issue"] == [
            {"severity": "error", "code": code, "details": {"text": text}}]
        named = dict(answer_headers)
        assert named["X-Request-ID"] == headers["X-Request-ID"]
        assert named["Content-Type"] == "application/fhir+json; charset=utf-8"
        assert named.get("WWW-Authenticate") == ('Bearer realm="fhirclaim", error="invalid_token"'
                                                 if status == 401 else None)
        assert named.get("ETag") == ('W/"2"' if status == 410 else None)  # the deletion's version
    assert reached.paths == []


def test_a_refused_read_is_counted_in_the_security_log_as_flask_counts_it(apps, world):
    """Once per request, under the caller's address (X-Forwarded-For believed from a trusted proxy), with the same
    kind and sample: Flask's count (`auth._unauthorized`) and the layer's."""
    lean, flask_only, reached = apps
    tokens, paths = world
    runtime = lean.extensions["fhirclaim"]
    runtime.settings.trusted_proxies = "127.0.0.1/32"  # the test client's peer: a proxy whose header is believed
    for app, source in ((flask_only, "10.0.0.7"), (lean, "10.0.0.8")):
        answer = app.test_client().get(paths[0], headers={"Authorization": tokens["revoked"],
                                                          "X-Forwarded-For": f"192.0.2.1, {source}"})
        assert answer.status_code == 401
    counted = {row["source"]: (row["kind"], row["count"], row["sample"]) for row in runtime.security_log.recent()}
    sample = f"GET {paths[0]}: The access token was revoked"
    assert counted == {"10.0.0.7": ("unauthenticated", 1, sample), "10.0.0.8": ("unauthenticated", 1, sample)}
    assert reached.paths == []


def test_a_plain_read_of_a_resource_without_its_stored_bytes_is_rendered_from_its_content():
    content = {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "3"}, "gender": "female"}
    when = datetime(2026, 12, 3, 15, 41, 28)
    as_stored = StoredResource("Patient", "p1", 3, when, False, None, content, text=jsonio.dumps(content))
    unstored = StoredResource("Patient", "p1", 3, when, False, None, content)
    answers = []
    for stored in (as_stored, unstored):
        body, status, headers = run_wsgi_app(plain_read(stored), {"REQUEST_METHOD": "GET"})
        answers.append((status, list(headers), b"".join(body)))
    assert isinstance(plain_read(as_stored), PlainRead) and not isinstance(plain_read(unstored), PlainRead)
    assert answers[0] == answers[1]
    assert answers[0][:2] == ("200 OK", [("Content-Type", "application/fhir+json; charset=utf-8"), ("ETag", 'W/"3"'),
                                         ("Last-Modified", "Thu, 03 Dec 2026 15:41:28 GMT"),
                                         ("Content-Length", str(len(answers[0][2])))])
    assert json.loads(answers[0][2]) == content


def test_a_path_is_taken_for_a_read_exactly_where_the_url_map_routes_it_to_the_read(apps):
    """The layer asks the URL map once per type (`Lean.routes_to`), and as it comes for an id some route spells out:
    the same answer as the map's for every path of that shape."""
    layer = apps[0].wsgi_app.wsgi_app
    read = layer.read
    literals = sorted(layer.literals)
    assert {"_history", "_search", "$validate", "jwks.json"} <= set(literals)
    types = ["Patient", "Claim", "Bundle", "OperationDefinition", ".well-known", "AuditEvent", "Nope", ""]
    ids = ["0", "abc", "Claim-submit", "x.y", "é", *literals]
    for path in (f"/fhir/{resource_type}/{resource_id}" for resource_type in types for resource_id in ids):
        expected = layer.endpoint_of(path, "GET") == "fhir.read"  # the map asked as it comes
        assert (read.read_of(path) is not None) == expected, path
        assert read.read_of(path) == ((path.split("/")[2], path.split("/")[3]) if expected else None)
    assert read.read_of("/fhir/Patient/abc") == ("Patient", "abc")
    assert read.read_of("/fhir/OperationDefinition/Claim-submit") is None  # the built-in definitions' route
    assert read.read_of("/fhir/Patient/_history") is None and read.read_of("/fhir/.well-known/jwks.json") is None
