"""architecture §10: bad input gets a clear 4xx OperationOutcome, and nothing is written."""

from __future__ import annotations

import json

import pytest

from testkit import outcome_text

GOOD = {"resourceType": "Patient", "gender": "female"}


def _assert_refused(fhir, response, status: int, text: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert text in outcome_text(response)
    assert fhir.writes() == 0, "something was written"


@pytest.mark.parametrize(("raw", "status", "text"), [
    (b"{", 400, "Malformed JSON"),
    (b'{"resourceType": "Patient",}', 400, "Malformed JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'"Patient"', 400, "must be a JSON object"),
    (b'{"resourceType": "Patient", "gender": "male", "gender": "female"}', 400, "repeats the key 'gender'"),
    (b'{"resourceType": "Patient", "multipleBirthDecimal": NaN}', 400, "Malformed JSON"),
    (b"\xff\xfe\x00", 400, "not UTF-8"),
    (b"", 400, "no body"),
    (b'{"gender": "female"}', 400, "no resourceType"),
    (b'{"resourceType": 7}', 400, "no resourceType"),
    (b'{"resourceType": "Observation", "status": "final"}', 400, "names Patient"),
    (b'{"resourceType": "Patient", "colour": "blue"}', 400, "Unknown element 'colour'"),
    (b'{"resourceType": "Patient", "birthDate": "03-02-1980"}', 400, "Patient.birthDate"),
    (b'{"resourceType": "Patient", "gender": "robot"}', 422, "not a code of administrative-gender"),
    (b'{"resourceType": "Patient", "managingOrganization": {"reference": "Organization/none"}}', 422,
     "does not exist"),
    (b'{"resourceType": "Patient", "managingOrganization": {"reference": "urn:uuid:1234"}}', 422,
     "only meaningful inside a transaction"),
])
def test_malformed_or_invalid_bodies(fhir, raw, status, text):
    _assert_refused(fhir, fhir.post("/Patient", raw=raw), status, text)


def test_unknown_type_in_url(fhir):
    _assert_refused(fhir, fhir.post("/Spaceship", {"resourceType": "Spaceship"}), 404, "does not store Spaceship")


def test_type_this_server_does_not_store(fhir):
    _assert_refused(fhir, fhir.post("", {"resourceType": "Basic"}), 400, "Bundle of type transaction or batch")


def test_id_mismatch_on_put(fhir):
    _assert_refused(fhir, fhir.put("/Patient/a", {**GOOD, "id": "b"}), 400, "is not the URL's id")


def test_bad_id_on_put(fhir):
    _assert_refused(fhir, fhir.put("/Patient/a%20b", {**GOOD, "id": "a b"}), 400, "not a valid FHIR id")


def test_deep_nesting(fhir):
    deep = GOOD | {"extension": []}
    node = deep["extension"]
    for _ in range(80):
        child = {"url": "http://x", "extension": []}
        node.append(child)
        node = child["extension"]
    _assert_refused(fhir, fhir.post("/Patient", deep), 400, "nests deeper than 64 levels")


def test_pathological_nesting_does_not_crash(fhir):
    raw = b'{"resourceType":"Patient","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = fhir.post("/Patient", raw=raw)
    assert response.status_code == 400


def test_oversized_body(settings):
    from fhirclaim.app import create_app
    from fhirclaim.runtime import Runtime

    from testkit import authorized

    runtime = Runtime(settings.model_copy(update={"max_body_bytes": 2048}))
    try:
        fhir = authorized(create_app(runtime=runtime))
        big = {**GOOD, "name": [{"text": "x" * 4096}]}
        _assert_refused(fhir, fhir.post("/Patient", big), 413, "larger than the limit of 2048 bytes")
        assert fhir.post("/Patient", GOOD).status_code == 201
    finally:
        runtime.close()


def test_wrong_content_type_and_format(fhir):
    xml = fhir.post("/Patient", raw=b"<Patient/>", content_type="application/fhir+xml")
    _assert_refused(fhir, xml, 415, "reads FHIR JSON")
    assert fhir.get("/Patient?_format=xml").status_code == 406
    assert fhir.get("/metadata", headers={"Accept": "application/fhir+xml"}).status_code == 406
    assert fhir.get("/metadata", headers={"Accept": "application/fhir+json"}).status_code == 200


def test_unknown_search_parameter_and_bad_values(fhir):
    assert fhir.get("/Patient?eye-colour=blue").status_code == 400
    assert fhir.get("/Patient?birthdate=notadate").status_code == 400
    assert fhir.get("/Patient?_count=-1").status_code == 400
    assert fhir.get("/Patient?_sort=eye-colour").status_code == 400
    assert fhir.get("/Patient?gender:missing=perhaps").status_code == 400
    assert fhir.get("/Patient?_include=Patient").status_code == 400


def test_bad_if_match(fhir):
    created = fhir.create(GOOD)
    response = fhir.put(f"/Patient/{created['id']}", created, headers={"If-Match": "yesterday"})
    assert response.status_code == 400


def test_unknown_route_and_method(fhir):
    response = fhir.client.get("/nothing-here")
    assert response.status_code == 404 and response.get_json()["resourceType"] == "OperationOutcome"
    response = fhir.request("DELETE", "/Patient")
    assert response.status_code == 405 and response.get_json()["resourceType"] == "OperationOutcome"


def test_bad_json_patch_documents(fhir):
    created = fhir.create(GOOD)
    path = f"/Patient/{created['id']}"
    assert fhir.patch(path, {"op": "add"}).status_code == 400
    assert fhir.patch(path, [{"path": "/gender"}]).status_code == 400
    assert fhir.patch(path, [{"op": "launch", "path": "/gender"}]).status_code == 422
    assert fhir.get(f"{path}/_history").get_json()["total"] == 1


def test_transaction_with_garbage_entries(fhir):
    for bundle in (
        {"resourceType": "Bundle", "type": "transaction", "entry": ["x"]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "FLY", "url": "P"}}]},
        {"resourceType": "Bundle", "type": "transaction",
         "entry": [{"request": {"method": "POST", "url": "Patient"}, "resource": "text"}]},
    ):
        response = fhir.post("", bundle)
        assert response.status_code == 400, json.dumps(bundle)
    assert fhir.writes() == 0


def test_every_unresolved_reference_is_reported_with_its_path(fhir):
    """The check gathers references without their paths and walks again for the paths only when one fails (issue
    17): the issues are those of one walk — a `urn:` reference first, then each missing one, in document order."""
    fhir.put_resource({"resourceType": "Organization", "id": "here", "name": "RS"})
    patient = {"resourceType": "Patient", "managingOrganization": {"reference": "Organization/here"},
               "generalPractitioner": [{"reference": "Practitioner/gone"}, {"reference": "urn:uuid:1234"},
                                       {"reference": "Organization/here"}, {"reference": "Organization/none"},
                                       {"reference": "http://elsewhere.example/fhir/Practitioner/x"}],
               "link": [{"other": {"reference": "Patient/gone"}, "type": "seealso"}]}
    writes = fhir.writes()
    response = fhir.post("/Patient", patient)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [(i["code"], i["expression"]) for i in response.get_json()["issue"]] == [
        ("invalid", ["Patient.generalPractitioner[1].reference"]),
        ("not-found", ["Patient.generalPractitioner[0].reference"]),
        ("not-found", ["Patient.generalPractitioner[3].reference"]),
        ("not-found", ["Patient.link[0].other.reference"]),
    ]
    assert fhir.writes() == writes
    valid = {**patient, "generalPractitioner": [{"reference": f"{BASE}/Organization/here"}], "link": []}
    del valid["link"]
    stored = fhir.create(valid)  # the absolute reference to this server resolves and is stored relative
    assert stored["generalPractitioner"] == [{"reference": "Organization/here"}]
    assert stored["managingOrganization"] == {"reference": "Organization/here"}


BASE = "http://localhost/fhir"  # Flask's test client calls http://localhost/
