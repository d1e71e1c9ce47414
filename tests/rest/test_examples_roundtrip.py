"""Every official R4 example of tests/fixtures/fhir/r4-examples round-trips: create, read, equal apart
from meta. Referenced resources that are not among the examples are created first as minimal stubs, since
this server enforces referential integrity."""

from __future__ import annotations

import json

import pytest

from testkit import FIXTURES, authorized

EXAMPLES = sorted((FIXTURES / "fhir" / "r4-examples").glob("*.json"))
STORED = [p for p in EXAMPLES if not p.name.startswith("OperationOutcome")]

STUBS = [
    {"resourceType": "Organization", "id": "1", "name": "Happy Valley Clinic"},
    {"resourceType": "Organization", "id": "2", "name": "Acme Insurance"},
    {"resourceType": "Organization", "id": "hl7", "name": "Health Level Seven International"},
    {"resourceType": "Patient", "id": "1"},
    {"resourceType": "Patient", "id": "5"},
    {"resourceType": "Patient", "id": "example"},
    {"resourceType": "Practitioner", "id": "1"},
    {"resourceType": "Practitioner", "id": "example"},
    {"resourceType": "Encounter", "id": "example", "status": "finished",
     "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}},
    {"resourceType": "Procedure", "id": "example", "status": "completed", "subject": {"reference": "Patient/example"}},
    {"resourceType": "Coverage", "id": "9876B1", "status": "active", "beneficiary": {"reference": "Patient/1"},
     "payor": [{"reference": "Organization/2"}]},
]


@pytest.fixture
def fhir(app, fhir):
    """The hospital's client, but the official Subscriptions (their `channel.header` sets `Authorization`, which only
    an admin may write: issue 13) are written and read by an admin client."""
    return _ByType(fhir, authorized(app, role="admin", org=None))


class _ByType:
    def __init__(self, hospital, admin):
        self.hospital, self.admin = hospital, admin

    def _for(self, path: str):
        return self.admin if path.startswith("/Subscription") else self.hospital

    def __getattr__(self, name):
        method = getattr(self.hospital, name)
        if name not in ("get", "put", "post"):
            return method
        return lambda path, *args, **kwargs: getattr(self._for(path), name)(path, *args, **kwargs)


SECRET = {"url": "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret",
          "valueString": "a-webhook-secret-of-the-subscriber"}


def _without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def _as_sent(path) -> bytes:
    """The example's bytes; a live Subscription also needs its webhook secret (the server signs every delivery)."""
    example = json.loads(path.read_text())
    if example["resourceType"] == "Subscription" and example["status"] in ("requested", "active"):
        example["extension"] = [*example.get("extension", []), SECRET]
        return json.dumps(example).encode()
    return path.read_bytes()


def _as_stored(example: dict) -> dict:
    """What a FHIR server makes of it: a requested Subscription becomes active, the secret is kept apart."""
    if example["resourceType"] == "Subscription" and example["status"] == "requested":
        return {**example, "status": "active"}
    return example


def _load_all(fhir) -> dict[str, dict]:
    for stub in STUBS:
        fhir.put_resource(stub)
    pending = {p.name: p for p in STORED}
    stored = {}
    while pending:  # examples point at each other: store each once what it references exists
        progressed = False
        for name, path in list(pending.items()):
            example = json.loads(path.read_text())  # sent as the file's bytes, decimals as written
            response = fhir.put(f"/{example['resourceType']}/{example['id']}", raw=_as_sent(path))
            if response.status_code in (200, 201):
                stored[name] = response.get_json()
                del pending[name]
                progressed = True
        assert progressed, f"could not store {sorted(pending)}"
    return stored


def test_every_official_example_round_trips(fhir):
    stored = _load_all(fhir)
    assert len(stored) == len(STORED)
    for path in STORED:
        original = json.loads(path.read_text())
        response = fhir.get(f"/{original['resourceType']}/{original['id']}")
        assert response.status_code == 200
        read_back = response.get_json()
        assert _without_meta(read_back) == _without_meta(_as_stored(original)), path.name
        assert read_back["meta"]["versionId"] == "1"


def test_decimal_precision_survives_the_round_trip(fhir):
    _load_all(fhir)
    response = fhir.get("/Claim/100151")
    text = response.get_data(as_text=True)
    source = (FIXTURES / "fhir" / "r4-examples" / "Claim-100151.json").read_text()
    for literal in ("105.00", "1050.00", "1400.00"):
        if literal in source:
            assert literal in text, literal


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.stem)
def test_each_example_validates(fhir, path):
    example = json.loads(path.read_text())
    response = fhir.post(f"/{example['resourceType']}/$validate", example)
    assert response.status_code == 200
    issues = response.get_json()["issue"]
    assert [i for i in issues if i["severity"] in ("error", "fatal")
            and i["code"] != "not-found"] == []  # references to stubs are not created here


def test_error_answers_are_r4_operation_outcomes(fhir):
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    for response in (fhir.get("/Patient/nope"), fhir.post("/Patient", raw=b"{"), fhir.get("/Claim?zzz=1"),
                     fhir.get("/NotAType/1")):
        assert response.status_code >= 400
        OperationOutcome.model_validate(response.get_json())
