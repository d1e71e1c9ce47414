"""Issue 13: no input gives a 5xx. First the twelve causes a security review found by fuzzing (each one request,
each now a 4xx OperationOutcome), then the fuzzing itself: hypothesis, derandomized, over every route of the route
table with mutated example resources, hostile parameters and headers (tests/fuzzkit.py). Any 5xx fails.

`FHIRCLAIM_FUZZ_EXAMPLES` sets the number of fuzzed requests (default 2400); benchmarks/fuzz.py runs longer ones.
"""

from __future__ import annotations

import json
import os

import fuzzkit
import pytest
from fuzzkit import FuzzRequest
from hypothesis import HealthCheck, given, settings

from fhirclaim.api import surface

from testkit import outcome_text

EXAMPLES = int(os.environ.get("FHIRCLAIM_FUZZ_EXAMPLES", "2400"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def target(tmp_path_factory, _signing_keys, _postgres):
    """The fuzzed app, on a database of its own: on PostgreSQL a clone of the migrated template, as every test's
    (not the server's `postgres` database itself, which the URL names)."""
    cloned = _postgres.create() if _postgres is not None else None
    target = fuzzkit.FuzzTarget(tmp_path_factory.mktemp("fuzz") / "data", _signing_keys,
                                _postgres.url_of(cloned) if cloned else None)
    yield target
    target.close()
    if cloned:
        _postgres.drop(cloned)


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _request(role: str, method: str, path: str, body=None, query: str = "",
             content_type: str = "application/fhir+json") -> FuzzRequest:
    raw = body if isinstance(body, bytes) or body is None else _json(body)
    return FuzzRequest(method, path, query, {"Content-Type": content_type} if raw is not None else {}, raw, role)


# The review's reproductions (issue 13), one request each, with the 4xx each answers now.
CAUSES = {
    "Parameters.parameter not an array": (
        _request("facility", "POST", "/fhir/Patient/$validate", {"resourceType": "Parameters", "parameter": 5}),
        400, "Parameters.parameter must be an array"),
    "_count of a Unicode digit": (_request("facility", "GET", "/fhir/Patient", query="_count=%C2%B2"),
                                  400, "_count must be an integer"),
    "version past INTEGER": (_request("facility", "GET", "/fhir/Patient/x/_history/99999999999999999999"),
                             404, "has no version"),
    "_sort on a string parameter": (_request("facility", "GET", "/fhir/Patient", query="_sort=name"), 200, ""),
    "transaction entry not an array": (
        _request("facility", "POST", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": 5}),
        400, "Bundle.entry must be an array"),
    "$precheck supportingInfo of strings": (
        _request("facility", "POST", "/fhir/Claim/$precheck", {"resourceType": "Claim", "supportingInfo": ["x"]}),
        400, "Claim.supportingInfo"),
    "$submit Bundle entry [5]": (
        _request("facility", "POST", "/fhir/Claim/$submit", {"resourceType": "Bundle", "type": "collection",
                                                             "entry": [5]}),
        400, "Bundle.entry[0] must be an object"),
    "admin client body 5": (_request("admin", "POST", "/admin/clients", 5, content_type="application/json"),
                            400, "is not of type 'object'"),
    "admin client name []": (_request("admin", "POST", "/admin/clients", {"role": "facility", "org": "1", "name": []},
                                      content_type="application/json"), 400, "body.name"),
    "lone surrogate in a search value": (
        _request("facility", "POST", "/fhir", b'{"resourceType": "Bundle", "type": "batch", "entry": [{"request": '
                                              b'{"method": "GET", "url": "Patient?name=\\udfff"}}]}'),
        400, "lone surrogate"),
    "_since offset +99:99": (_request("facility", "GET", "/fhir/Patient/_history",
                                      query="_since=2024-01-01T00:00:00%2B99:99"), 400, "_since"),
    "conditional PUT id [1]": (_request("facility", "PUT", "/fhir/Patient", {"resourceType": "Patient", "id": [1]},
                                        query="identifier=a%7Cb"), 400, "is not a valid FHIR id"),
    "60,000-character :contains": (_request("facility", "GET", "/fhir/Patient", query="name:contains=" + "a" * 60000),
                                   400, "longer than 2048 characters"),
}


@pytest.mark.parametrize("cause", list(CAUSES))
def test_each_cause_the_review_found_is_a_4xx(target, cause):
    request, status, text = CAUSES[cause]
    response = target.send(request)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert text in outcome_text(response)


@pytest.mark.parametrize(("query", "text"), [
    ("_count=%D9%A3", "_count must be an integer"),  # Arabic-Indic 3, which int() would read
    ("_offset=2147483648", "_offset must be an integer from 0 to 2147483647"),
    ("birthdate=%D9%A2%D9%A0%D9%A2%D9%A4", "is not a FHIR date"),
    ("birthdate=9999-12", ""),  # the end of a year-9999 month is past datetime's range
    ("name=" + ",".join(["a"] * 101), "at most 100 values"),
    ("_id=" + "&_id=".join(["a"] * 101), "at most 100 parameters"),
    ("_sort=organization", ""),  # every declared parameter sorts, references by their target id
    ("name=a%00b", "holds a NUL"),  # PostgreSQL text cannot hold a NUL
])
def test_hostile_search_parameters(target, query, text):
    response = target.send(_request("facility", "GET", "/fhir/Patient", query=query))
    assert response.status_code == (400 if text else 200), response.get_data(as_text=True)
    if text:
        assert text in outcome_text(response)


@pytest.mark.parametrize(("query", "status"), [("quantity=ap5", 200), ("factor-override=ap1.5", 200),
                                               ("factor-override=%D9%A3", 400), ("factor-override=1e999", 400),
                                               ("_sort=-quantity,factor-override,code", 200)])
def test_number_searches(target, query, status):
    response = target.send(_request("facility", "GET", "/fhir/ChargeItem", query=query))
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize("raw", [b'{"resourceType": "Patient", "name": [{"family": "a\\u0000b"}]}',
                                 b'{"resourceType": "Patient", "name": [{"family": "\\ud800"}]}',
                                 b'{"resourceType": "Patient", "\\udfff": 1}'])
def test_json_that_is_not_storable_text_is_refused(target, raw):
    response = target.send(_request("facility", "POST", "/fhir/Patient", raw))
    assert response.status_code == 400
    assert "NUL (\\u0000) or a lone surrogate" in outcome_text(response)


def test_a_delivery_id_past_integer_is_not_found(target):
    response = target.send(_request("admin", "GET", "/admin/webhooks/deliveries/99999999999999999999"))
    assert response.status_code == 404


def test_no_input_gives_a_5xx(target):
    """The fuzz campaign: every route, hostile everything; then every route of the table was reached."""
    before = sum(target.statuses.values())

    @FUZZ
    @given(fuzzkit.requests())
    def fuzz(request: FuzzRequest) -> None:
        status = target.send(request).status_code
        assert status < 500, request.describe()

    fuzz()
    sent = sum(target.statuses.values()) - before
    print(f"fuzzed {sent} requests: {dict(sorted(target.statuses.items()))}")
    assert sent >= EXAMPLES
    assert set(target.endpoints) >= set(surface.ENDPOINTS), set(surface.ENDPOINTS) - set(target.endpoints)


@pytest.mark.parametrize(("entry", "text"), [
    ({"request": {"method": "PUT", "url": "Patient/a", "ifMatch": 'W/"²"'}, "resource": {"resourceType": "Patient"}},
     "is not an ETag"),
    ({"request": {"method": "PUT", "url": "Patient/a", "ifMatch": 'W/"99999999999"'},
      "resource": {"resourceType": "Patient"}}, "is not an ETag"),
    ({"fullUrl": ["x"], "request": {"method": "POST", "url": "Patient"}, "resource": {"resourceType": "Patient"}},
     "fullUrl must be a string"),
    ({"request": {"method": "POST", "url": "Patient", "ifNoneExist": {"a": 1}},
      "resource": {"resourceType": "Patient"}}, "ifNoneExist must be a string"),
])
def test_hostile_bundle_entries(target, entry, text):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    response = target.send(_request("facility", "POST", "/fhir", bundle))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert text in outcome_text(response)


@pytest.mark.parametrize(("method", "path"), [("GET", "/fhir/Patient/a%00b"), ("GET", "/fhir/Patient/" + "x" * 65),
                                              ("GET", "/fhir/Patient/a%00b/_history"),
                                              ("GET", "/fhir/Patient/a%00b/_history/1"),
                                              ("DELETE", "/fhir/Patient/a%00b")])
def test_an_id_no_resource_can_have_is_not_found(target, method, path):
    response = target.send(_request("facility", method, path))
    assert response.status_code == 404
    assert "is not known" in outcome_text(response)
