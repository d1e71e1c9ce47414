"""The lean create (`api.lean_create`) answers exactly what Flask answers: a matrix of creates and near-creates goes
through the app with the layer and through the same app without it, and status, headers, body and the rows each
wrote must be the same (bar the values made afresh per create: the id, Location, Last-Modified, meta.lastUpdated,
X-Request-ID). The plain creates, their 401 and their FhirErrors but a 403 must not reach Flask, and everything else
must, with the body it sent."""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import re

import pytest
from sqlalchemy import event, inspect, text

from fhirclaim.api import lean_create
from fhirclaim.interactions.service import FhirService

from testkit import HOSPITAL, OTHER_HOSPITAL, authorized, role_headers

ROLES = ("facility", "facility-B", "eklaim", "bpjs", "admin", "unknown", "revoked", "expired", "disabled", "basic",
         "none")


@pytest.fixture
def tokens(apps):
    """Each role's Authorization header (an Organization rs-a made first, for references to it)."""
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]
    authorized(lean).put_resource({"resourceType": "Organization", "id": "rs-a", "name": "RS A"})
    tokens = role_headers(runtime)
    reached.paths.clear()
    reached.bodies.clear()
    return tokens


def _nested(depth: int) -> str:
    return '{"resourceType": "Patient", "extension": ' + "[" * depth + "]" * depth + "}"


PATIENT = json.dumps({"resourceType": "Patient", "gender": "female", "birthDate": "1970-01-01"})
BODIES = {
    "patient": PATIENT,
    "local-reference": json.dumps({"resourceType": "Patient",
                                   "managingOrganization": {"reference": "http://localhost/fhir/Organization/rs-a"}}),
    "odd-host-reference": json.dumps({"resourceType": "Patient", "managingOrganization": {
        "reference": "http://fhir.example.org:8443/fhir/Organization/rs-a"}}),
    "unknown-reference": json.dumps({"resourceType": "Patient",
                                     "managingOrganization": {"reference": "Organization/nobody"}}),
    "with-id": json.dumps({"resourceType": "Patient", "id": "chosen", "active": True}),
    "organization": json.dumps({"resourceType": "Organization", "name": "RS B"}),
    "wrong-type": json.dumps({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
    "invalid": json.dumps({"resourceType": "Patient", "gender": "sometimes"}),
    "unknown-element": json.dumps({"resourceType": "Patient", "colour": "blue"}),
    "no-type": json.dumps({"gender": "female"}),
    "array": "[]",
    "empty": "",
    "blank": "  \n",
    "malformed": '{"resourceType": "Patient",',
    "not-utf8": b'{"resourceType": "Patient", "name": [{"text": "\xff"}]}',
    "too-deep": _nested(80),
}
PATHS = ["/fhir/Patient", "/fhir/Organization", "/fhir/Nope", "/fhir/Patient/", "/fhir/metadata", "/fhir/_search",
         "/fhir/%C3%A9", "/fhir//Patient", "/fhir", "/fhir/Patient/_search", "/fhir/_history"]
HEADERS = [{}, {"Content-Type": "application/json"}, {"Content-Type": "application/fhir+json; charset=utf-8"},
           {"Content-Type": "APPLICATION/JSON+FHIR"}, {"Content-Type": "text/json"},
           {"Content-Type": "application/fhir+xml"}, {"Content-Type": "text/plain"},
           {"Content-Type": "application/x-www-form-urlencoded"}, {"Content-Type": None},
           {"Accept": "application/fhir+xml"}, {"Accept": "*/*"}, {"If-None-Exist": "gender=female"},
           {"Prefer": "return=minimal"}, {"Prefer": "return=representation"}, {"Prefer": "return=OperationOutcome"},
           {"Prefer": "handling=lenient"}, {"Prefer": "handling=strict"},
           {"Prefer": 'return="minimal", handling=lenient'}, {"X-Request-ID": "lean-create-17"},
           {"X-Fhirclaim-Tenant": HOSPITAL}, {"X-Fhirclaim-Tenant": OTHER_HOSPITAL},
           {"X-Fhirclaim-Tenant": "not a tenant!"}, {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"},
           {"Host": "fhir.example.org:8443"}, {"Host": "a..b"}, {"Host": "[::1]:8080"},
           {"Transfer-Encoding": "chunked"}, {"CONTENT_LENGTH": "+74"}, {"CONTENT_LENGTH": "074"},
           {"CONTENT_LENGTH": "x"}, {"CONTENT_LENGTH": "10"}, {"If-Match": 'W/"1"'}]
QUERIES = ["?_format=json", "?_pretty=true", "?_format=xml", "?"]

_MADE = re.compile(r'("lastUpdated":\s*)"[^"]*"')


def _answer(app, method, path, token, headers, body):
    """The answer, its per-create values normalised: (status, headers, body). A WSGI key in `headers` (CONTENT_LENGTH,
    wsgi.input_terminated) is the environ's, as sent (the test client would write the body's own length)."""
    sent = {"Content-Type": "application/fhir+json", **headers, **({"Authorization": token} if token else {})}
    declared = {name: value for name, value in sent.items() if name.isupper() or name.startswith("wsgi.")}
    sent = {name: value for name, value in sent.items() if value is not None and name not in declared}
    response = app.test_client().open(path, method=method, headers=sent, environ_overrides=declared,
                                      data=body.encode() if isinstance(body, str) else body)
    data = response.get_data()
    got = [("Status", response.status)] + [(name, value) for name, value in response.headers
                                           if name != "X-Request-ID" or "X-Request-ID" in headers]
    made = response.headers.get("Location", "").split("/_history/")[0].rsplit("/", 1)[-1]
    if made:  # a created resource's id, wherever it appears
        data = data.replace(made.encode(), b"<id>")
        got = [(name, value.replace(made, "<id>")) for name, value in got]
    if "Last-Modified" in response.headers:
        got = [(name, "<time>" if name == "Last-Modified" else value) for name, value in got]
    if ("Content-Length", str(len(response.get_data()))) in got:  # true of the raw body: the normalised differs
        got = [(name, value) for name, value in got if name != "Content-Length"]
    if data.startswith(b'{"resourceType":"Bundle"'):  # a search's (Flask's, both): made afresh, its own id each time
        data = json.dumps({key: value for key, value in json.loads(data).items() if key not in ("id", "meta")})
        got = [(name, value) for name, value in got if name != "Content-Length"]
        return response.status_code, got, data
    return response.status_code, got, _MADE.sub(r'\1"<time>"', data.decode(errors="replace"))


def _rows(runtime):
    """How many rows each table holds, and the security log's counts by source and kind (its table's rows are a
    minute's counters: the first refusal of a minute makes one, the next counts in it)."""
    logged = collections.Counter()
    for row in runtime.security_log.recent():
        logged[row["source"], row["kind"]] += row["count"]
    engine = runtime.database.engine
    tables = sorted(set(inspect(engine).get_table_names()) - {"security_event"})
    with engine.connect() as connection:
        counts = connection.execute(text("SELECT " + ", ".join(
            f'(SELECT count(*) FROM "{table}")' for table in tables))).one()
    return dict(zip(tables, counts, strict=True)), logged


def _written(runtime, before, after):
    (rows, logged), (rows_after, logged_after) = before, after
    return ({table: count - rows[table] for table, count in rows_after.items() if count != rows[table]},
            {key: count - logged.get(key, 0) for key, count in logged_after.items() if count != logged.get(key, 0)})


def _compared(apps, runtime, method, path, token, headers, body):
    """Flask's answer and what it wrote, then the layer's: the two must be the same."""
    lean, flask_only, _ = apps
    answers = []
    for app in (flask_only, lean):
        before = _rows(runtime)
        answer = _answer(app, method, path, token, headers, body)
        answers.append((answer, _written(runtime, before, _rows(runtime))))
    assert answers[1] == answers[0], (method, path, headers, body[:60])
    return answers[0]


def test_the_lean_create_answers_and_writes_what_flask_does(apps, tokens):
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]
    cases = itertools.chain(
        itertools.product(["POST"], PATHS[:1], ROLES, [{}], BODIES.values()),
        itertools.product(["POST"], PATHS, ["facility", "admin", "unknown"], [{}], [PATIENT, "not json"]),
        itertools.product(["POST"], PATHS[:3], ["facility", "bpjs", "unknown"], HEADERS, [PATIENT, ""]),
        itertools.product(["POST"], PATHS[:1], ["facility"], [h for h in HEADERS if "Prefer" in h], BODIES.values()),
        itertools.product(["POST"], [p + q for p in PATHS[:2] for q in QUERIES], ["facility"], [{}], [PATIENT]),
        itertools.product(["PUT", "GET"], PATHS[:1], ["facility"], [{}], [PATIENT]))
    statuses, written, compared = set(), set(), 0
    for method, path, role, headers, body in cases:
        (status, _, _), (rows, _) = _compared(apps, runtime, method, path, tokens[role], headers, body)
        statuses.add(status)
        written.update(rows)
        compared += 1
    assert compared > 700 and {200, 201, 400, 401, 403, 406, 412, 415, 422} <= statuses
    assert {"resource", "resource_version"} <= written
    assert compared - len(reached.paths) > 300  # the plain creates and their refusals: answered by the layer


def test_a_refused_create_writes_and_counts_what_flask_does(apps, tokens):
    """A dead token's 401 counted once in the security log, under the caller's address; a 403 audited once; a
    400 or 422 writing nothing: the same rows, for each, with the layer and without it."""
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]
    runtime.settings.trusted_proxies = "127.0.0.1/32"  # the test client's peer: a proxy whose header is believed
    cases = [("revoked", PATIENT, 401, {}, {("10.0.0.7", "unauthenticated"): 1}),
             ("expired", BODIES["malformed"], 401, {}, {("10.0.0.7", "unauthenticated"): 1}),
             ("bpjs", PATIENT, 403, {"audit_log": 1}, {}),
             ("facility", BODIES["invalid"], 422, {}, {}),
             ("facility", BODIES["malformed"], 400, {}, {}),
             ("facility", BODIES["wrong-type"], 400, {}, {})]
    for role, body, status, rows, logged in cases:
        (got, _, _), written = _compared(apps, runtime, "POST", "/fhir/Patient", tokens[role],
                                         {"X-Forwarded-For": "192.0.2.1, 10.0.0.7"}, body)
        assert (got, written) == (status, (rows, logged)), role
    assert reached.paths == ["/fhir/Patient"]  # the 403 only: Flask audits it


def test_a_plain_create_is_answered_by_the_layer_with_what_the_service_made(apps, tokens):
    lean, _, reached = apps
    client = lean.test_client()
    created = client.post("/fhir/Patient", data=BODIES["local-reference"],
                          headers={"Authorization": tokens["facility"], "Content-Type": "application/fhir+json"})
    assert created.status_code == 201 and reached.paths == []
    resource = created.json
    assert resource["managingOrganization"] == {"reference": "Organization/rs-a"}  # a local reference, localised
    assert created.headers["Location"] == f"http://localhost/fhir/Patient/{resource['id']}/_history/1"
    assert created.headers["ETag"] == 'W/"1"' and created.headers["Content-Type"] == "application/fhir+json; " \
                                                                                      "charset=utf-8"
    read = client.get(f"/fhir/Patient/{resource['id']}", headers={"Authorization": tokens["facility"]})
    assert read.json == resource
    minimal = client.post("/fhir/Patient", data=PATIENT, headers={
        "Authorization": tokens["facility"], "Content-Type": "application/json", "Prefer": "return=minimal",
        "Host": "fhir.example.org:8443"})
    assert (minimal.status_code, minimal.get_data()) == (201, b"")
    assert minimal.headers["Location"].startswith("http://fhir.example.org:8443/fhir/Patient/")
    assert reached.paths == []


def test_the_public_base_is_the_location_s_and_a_local_one(apps, tokens):
    """With a public base configured, Location is under it and references to it are local, as Flask has them."""
    lean, _, reached = apps
    lean.config["FHIRCLAIM_SETTINGS"].public_base_url = "https://claims.example.id/fhir/"
    for base in ("https://claims.example.id/fhir", "http://localhost/fhir"):  # the public base, the request's
        reference = {"reference": f"{base}/Organization/rs-a"}
        body = json.dumps({"resourceType": "Patient", "managingOrganization": reference})
        (status, headers, answer), _ = _compared(apps, lean.extensions["fhirclaim"], "POST", "/fhir/Patient",
                                                 tokens["facility"], {}, body)
        assert status == 201 and ("Location", "https://claims.example.id/fhir/Patient/<id>/_history/1") in headers
        assert json.loads(answer)["managingOrganization"] == {"reference": "Organization/rs-a"}
    assert reached.paths == []


def test_the_layer_s_service_is_flask_s(apps, tokens, monkeypatch):
    """The FHIR service the create runs in is made as Flask's `fhir_service` makes it: the caller as its author, its
    scope, Prefer's handling=lenient (it reaches only the searches of a conditional create, which is Flask's, so
    no answer shows it), this server's bases."""
    lean, flask_only, reached = apps
    made = []

    def create(service, resource, **kwargs):
        made.append((service.author, service.uow.scope, service.search_options.lenient, service.base_urls, kwargs))
        return original(service, resource, **kwargs)

    original = FhirService.create
    monkeypatch.setattr(FhirService, "create", create)
    settings = lean.config["FHIRCLAIM_SETTINGS"]
    for headers, public_base in (({}, None), ({"Prefer": "handling=lenient"}, None),
                                 ({"Prefer": "return=minimal,handling=lenient", "Host": "fhir.example.org"}, None),
                                 ({"X-Forwarded-Proto": "https", "Host": "[::1]:8443"}, "https://claims.example.id/fhir"),
                                 ({"X-Fhirclaim-Tenant": OTHER_HOSPITAL}, None)):
        settings.public_base_url = public_base
        for role in ("facility", "facility-B"):
            for app in (flask_only, lean):
                assert _answer(app, "POST", "/fhir/Patient", tokens[role], headers, PATIENT)[0] == 201
            assert made[-1] == made[-2], (headers, role)
    assert {lenient for _, _, lenient, _, _ in made} == {False, True}
    assert {bases for _, _, _, bases, _ in made} == {
        ("http://localhost/fhir",), ("http://fhir.example.org/fhir",),
        ("https://claims.example.id/fhir", "http://[::1]:8443/fhir")}
    assert reached.paths == []


def test_a_body_read_then_handed_to_flask_reaches_it_whole(apps, tokens):
    """A create the layer read the body of and then declined (a role refused, a refused tenant header, an error
    before the commit) reaches Flask with the same bytes, and is answered as without the layer."""
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]
    cases = [("bpjs", {}, 403), ("admin", {"X-Fhirclaim-Tenant": "not a tenant!"}, 400)]
    for role, headers, status in cases:
        (got, _, _), _ = _compared(apps, runtime, "POST", "/fhir/Patient", tokens[role], headers, PATIENT)
        assert got == status
    assert reached.bodies == [PATIENT.encode()] * 2


def test_an_error_before_the_commit_is_flask_s_to_answer(apps, tokens, monkeypatch):
    """An unexpected error in the create, before its commit: rolled back, handed to Flask with its body, which
    answers it as it does (a logged 500 here, the service failing again)."""
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]
    calls = []

    def failing_create(service, *args, **kwargs):
        calls.append(1)
        raise RuntimeError("the create failed")

    monkeypatch.setattr(FhirService, "create", failing_create)
    before = _rows(runtime)
    answer = lean.test_client().post("/fhir/Patient", data=PATIENT, headers={
        "Authorization": tokens["facility"], "Content-Type": "application/fhir+json", "X-Request-ID": "before-17"})
    assert answer.status_code == 500 and "before-17" in answer.json["issue"][0]["details"]["text"]
    assert len(calls) == 2 and reached.bodies == [PATIENT.encode()]  # the layer's try, then Flask's
    assert _written(runtime, before, _rows(runtime)) == ({}, {})


@pytest.mark.parametrize("where", ["commit", "answer"])
def test_an_error_at_or_after_the_commit_is_answered_here_once(apps, tokens, monkeypatch, caplog, where):
    """From the commit on, the resource may be written: an error there is the layer's logged 500 (as
    `errors._unexpected` answers it), never Flask's, which would create the resource a second time."""
    lean, _, reached = apps
    runtime = lean.extensions["fhirclaim"]

    def failing(*_args, **_kwargs):
        raise RuntimeError(f"failed at the {where}")

    before = _rows(runtime)
    if where == "commit":  # the create's unit of work fails once its transaction has committed
        commit = runtime.store.database.session

        @contextlib.contextmanager
        def committed_then_failing(*args, **kwargs):
            with commit(*args, **kwargs) as opened:
                yield opened
            monkeypatch.undo()  # once: the test's own units of work commit as they do
            failing()

        monkeypatch.setattr(runtime.store.database, "session", committed_then_failing)
    else:
        monkeypatch.setattr(lean_create, "render", failing)
    with caplog.at_level(logging.ERROR, logger="fhirclaim.api.errors"):
        answer = lean.test_client().post("/fhir/Patient", data=PATIENT, headers={
            "Authorization": tokens["facility"], "Content-Type": "application/fhir+json", "X-Request-ID": "after-17"})
    assert answer.status_code == 500 and answer.json["issue"] == [{
        "severity": "error", "code": "exception",
        "details": {"text": "The server failed to process the request (request id after-17)"}}]
    assert reached.paths == []
    rows, _ = _written(runtime, before, _rows(runtime))
    assert rows["resource"] == 1 and rows["resource_version"] == 1  # created once
    [record] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert record.request_id == "after-17" and f"failed at the {where}" in str(record.exc_info[1])


def _statements(app, *request):
    """`_answer(app, *request)`, and the statements it ran: their first word, and whether they read the tokens."""
    engine = app.extensions["fhirclaim"].database.engine
    seen = []
    listener = lambda _c, _cur, statement, *_: seen.append((statement.split()[0].upper(),  # noqa: E731
                                                             "oauth_token" in statement))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = _answer(app, *request)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return answer, seen


def test_a_plain_create_runs_the_statements_flask_runs(apps, tokens):
    """The same unit of work: the token's check, the create's statements, the commit, statement for statement; and
    one token check for a dead token (the security log then writes its counter, or counts it in memory: it depends
    on what it saw before this minute, not on who answered)."""
    lean, flask_only, reached = apps
    for role, body in (("facility", PATIENT), ("facility", BODIES["local-reference"]), ("facility", BODIES["invalid"]),
                       ("facility", BODIES["malformed"])):
        expected, flask_statements = _statements(flask_only, "POST", "/fhir/Patient", tokens[role], {}, body)
        got, lean_statements = _statements(lean, "POST", "/fhir/Patient", tokens[role], {}, body)
        assert got == expected and lean_statements == flask_statements, body
        assert flask_statements[0] == ("SELECT", True)  # the token's check first
        assert ("INSERT", False) in flask_statements if expected[0] == 201 else len(flask_statements) == 1
    for role in ("revoked", "unknown"):
        expected, flask_statements = _statements(flask_only, "POST", "/fhir/Patient", tokens[role], {}, PATIENT)
        got, lean_statements = _statements(lean, "POST", "/fhir/Patient", tokens[role], {}, PATIENT)
        assert got == expected and expected[0] == 401
        assert sum(reads for _, reads in flask_statements) == sum(reads for _, reads in lean_statements) == 1
    assert reached.paths == []


def test_a_create_path_is_taken_exactly_where_the_url_map_routes_it_to_the_create(apps):
    layer = apps[0].wsgi_app.wsgi_app
    types = ["Patient", "Claim", "Bundle", "Nope", "é", "0", *sorted(layer.literals)]
    for path in (f"/fhir/{resource_type}" for resource_type in types):
        expected = layer.endpoint_of(path, "POST") == "fhir.create"  # the map asked as it comes
        assert layer.routes_to(path, "POST", "fhir.create") == expected, path
    assert layer.routes_to("/fhir/Patient", "POST", "fhir.create")
    assert layer.routes_to("/fhir/metadata", "POST", "fhir.create")  # the map's choice: the GET is another rule
    assert not layer.routes_to("/fhir/Patient/_search", "POST", "fhir.create")


def test_oversized_undeclared_and_short_bodies_are_flask_s(apps, tokens):
    """A body over MAX_CONTENT_LENGTH (413), one of no declared length, one shorter than declared, one of a length
    werkzeug does not take as it is: Flask's answers, the layer's bytes handed on."""
    lean, flask_only, reached = apps
    runtime = lean.extensions["fhirclaim"]
    for app in (lean, flask_only):
        app.config["MAX_CONTENT_LENGTH"] = 200
    padded = json.dumps({"resourceType": "Patient", "name": [{"text": "x" * 300}]})
    (status, _, _), _ = _compared(apps, runtime, "POST", "/fhir/Patient", tokens["facility"], {}, padded)
    assert status == 413
    (status, _, _), _ = _compared(apps, runtime, "POST", "/fhir/Patient", tokens["facility"],
                                  {"CONTENT_LENGTH": "150"}, PATIENT)
    assert status == 400
    (status, _, _), _ = _compared(apps, runtime, "POST", "/fhir/Patient", tokens["facility"],
                                  {"Transfer-Encoding": "chunked"}, PATIENT)
    assert len(reached.paths) == 3 and reached.bodies[1] == PATIENT.encode()
    # A server that ends the input itself: werkzeug reads it to its end whatever Content-Length says, if it says
    # no plain number (read as 0): Flask's to read. A plain one is the layer's: the server ends the input there.
    for declared, status in (("x", 201), ("74", 201)):
        (got, _, _), _ = _compared(apps, runtime, "POST", "/fhir/Patient", tokens["facility"],
                                   {"CONTENT_LENGTH": declared, "wsgi.input_terminated": True}, PATIENT)
        assert got == status, declared
    assert len(reached.paths) == 4
