"""Role × endpoint: every row says what each caller gets, and every cell is asserted (architecture §8, issue 5 item
3)."""

from __future__ import annotations

import json

import pytest

ROLES = ("facility-A", "eklaim-A", "facility-B", "bpjs", "admin", "anonymous")
BPJS_ORG = "100025555"


def purification(claim_id: str, sep: str = "0301R0011026V000101") -> dict:
    return {
        "resourceType": "ClaimResponse", "status": "active", "use": "claim", "outcome": "complete",
        "created": "2026-10-06T09:00:00+07:00",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "subType": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": "purifikasi"}]},
        "patient": {"reference": "Patient/ex1-patient"}, "insurer": {"reference": f"Organization/{BPJS_ORG}"},
        "request": {"reference": f"Claim/{claim_id}"},
        "identifier": [{"system": f"http://sys-ids.kemkes.go.id/claim-number/{BPJS_ORG}", "value": sep}],
        "adjudication": [{"category": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": "TK000046"}]},
                          "reason": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": "TK000047",
                                                 "display": "Lolos Purifikasi"}]}}],
    }


SUBSCRIPTION = {"resourceType": "Subscription", "status": "requested", "reason": "grouping results",
                "criteria": "ClaimResponse?status=active",
                "channel": {"type": "rest-hook", "endpoint": "https://simrs.example/hook"},
                "extension": [{"url": "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret",
                               "valueString": "a-long-enough-webhook-secret"}]}

# (name, method, path, body or None, expected status per role in ROLES order)
MATRIX = [
    ("metadata", "GET", "/metadata", None, (200, 200, 200, 200, 200, 200)),
    ("read disclosed patient", "GET", "/Patient/ex1-patient", None, (200, 200, 404, 200, 200, 401)),
    ("read undisclosed patient", "GET", "/Patient/undisclosed-a", None, (200, 200, 404, 404, 200, 401)),
    ("read other tenant's patient", "GET", "/Patient/patient-b", None, (404, 404, 200, 404, 200, 401)),
    ("history of undisclosed", "GET", "/Patient/undisclosed-a/_history", None, (200, 200, 404, 404, 200, 401)),
    ("create patient", "POST", "/Patient", {"resourceType": "Patient"}, (201, 201, 201, 403, 403, 401)),
    ("update own patient", "PUT", "/Patient/undisclosed-a",
     {"resourceType": "Patient", "id": "undisclosed-a", "gender": "other"},
     (200, 200, 201, 403, 403, 401)),  # B: its own Patient/undisclosed-a (ids are per tenant, issue 13 part 8)
    ("patch own patient", "PATCH", "/Patient/undisclosed-a",
     [{"op": "replace", "path": "/gender", "value": "unknown"}], (200, 200, 404, 403, 403, 401)),
    ("create AuditEvent", "POST", "/AuditEvent", {"resourceType": "AuditEvent"}, (403, 403, 403, 403, 403, 401)),
    ("purification ClaimResponse", "POST", "/ClaimResponse", "purification", (403, 403, 403, 201, 403, 401)),
    ("subscription", "POST", "/Subscription", SUBSCRIPTION, (201, 201, 201, 201, 201, 401)),
    ("verify a signature", "POST", "/Bundle/$verify-signature", {"resourceType": "Bundle", "type": "collection"},
     (200, 200, 200, 200, 200, 401)),
    ("precheck", "POST", "/Claim/$precheck", "claim", (200, 200, 200, 403, 403, 401)),
    ("print own claim", "GET", "/Claim/ex1-claim/$print", None, (200, 200, 404, 403, 403, 401)),
    ("admin: clients", "GET", "/admin/clients", None, (403, 403, 403, 403, 200, 401)),
    ("admin: tenant settings", "PUT", "/admin/tenants/10000004", {"kode_tarif": "BP"},
     (403, 403, 403, 403, 200, 401)),
    # a repeated delete is idempotent (200); another tenant's id is unknown (404)
    ("delete own patient", "DELETE", "/Patient/undisclosed-a", None, (200, 200, 404, 403, 403, 401)),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_role_endpoint_matrix(world, name, method, path, body, expected):
    if body == "purification":
        body = purification(world["claim"]["id"])
    elif body == "claim":
        body = world["claim"]
    statuses = {}
    for role in ROLES:
        client = world["anonymous"] if role == "anonymous" else world["clients"][role]
        kwargs = {"content_type": "application/json-patch+json"} if method == "PATCH" else {}
        if path.startswith("/admin"):
            kwargs.update(content_type="application/json", base="")
        response = client.request(method, path, body, **kwargs)
        statuses[role] = response.status_code
        if response.status_code >= 400:
            assert response.get_json()["resourceType"] == "OperationOutcome", (role, response.data[:200])
    assert statuses == dict(zip(ROLES, expected, strict=True)), name


def test_searches_see_only_the_callers_data(world):
    c = world["clients"]
    totals = {role: c[role].get("/Patient?_count=0").get_json()["total"] for role in c}
    # A: ex1-patient + undisclosed-a; B: patient-b; BPJS-K: only the disclosed one; admin: all three
    assert totals == {"facility-A": 2, "eklaim-A": 2, "facility-B": 1, "bpjs": 1, "admin": 3}
    bundles = {role: c[role].get(f"/Bundle?identifier={world['sep']}").get_json()["total"] for role in c}
    assert bundles == {"facility-A": 1, "eklaim-A": 1, "facility-B": 0, "bpjs": 1, "admin": 1}


def test_a_bpjs_answer_lands_in_the_hospitals_tenant(world):
    c = world["clients"]
    created = c["bpjs"].post("/ClaimResponse", purification(world["claim"]["id"]))
    assert created.status_code == 201, created.get_json()
    response_id = created.get_json()["id"]
    assert c["facility-A"].get(f"/ClaimResponse/{response_id}").status_code == 200
    assert c["facility-B"].get(f"/ClaimResponse/{response_id}").status_code == 404
    assert c["bpjs"].get(f"/ClaimResponse/{response_id}").status_code == 200


def test_bpjs_cannot_answer_a_claim_that_was_not_submitted(world):
    c = world["clients"]
    c["facility-A"].put_resource({**world["claim"], "id": "draft-claim", "status": "draft",
                                  "identifier": [{"system": world["claim"]["identifier"][0]["system"],
                                                  "value": "0301R0011026V009999"}],
                                  "insurance": [{**world["claim"]["insurance"][0], "identifier": {
                                      "system": world["claim"]["identifier"][0]["system"],
                                      "value": "0301R0011026V009999"}}]})
    refused = c["bpjs"].post("/ClaimResponse", purification("draft-claim"))
    assert refused.status_code == 422
    assert refused.get_json()["issue"][0]["code"] == "not-found"  # to BPJS-K an unsubmitted claim does not exist
    assert "Claim/draft-claim" in json.dumps(refused.get_json())
