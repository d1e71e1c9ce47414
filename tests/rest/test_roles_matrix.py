"""Role × write interaction × resource kind (issue 13, part 6): DELETE, PATCH, conditional update and transaction
entries pass the same role and ownership rules as PUT. Every cell is asserted, and no cell that should be refused
answers 2xx.

Kinds: a hospital's own Patient, the shared BPJS Kesehatan Organization (no tenant: admin's), the pipeline's
grouping ClaimResponse and claim Bundle (server-written), BPJS-K's purifikasi ClaimResponse, an AuditEvent.
The server-written and BPJS-K-written resources are written directly with their authors, so this test does not
depend on the pipeline running.
"""

from __future__ import annotations

import copy
import json

import pytest

from fhirclaim.claims.pipeline import PIPELINE_AUTHOR
from fhirclaim.store.scope import tenant_scope

from testkit import HOSPITAL, OTHER_HOSPITAL, REPO_ROOT, authorized

EXAMPLE = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"
BPJS_ORG = "100025555"
ROLES = ("facility-A", "eklaim-A", "facility-B", "bpjs", "admin")
INTERACTIONS = ("update", "patch", "delete", "conditional-update", "transaction-update", "transaction-delete")
OK = {"update": 200, "patch": 200, "delete": 200, "conditional-update": 200, "transaction-update": 200,
      "transaction-delete": 200}

# kind → role → status of every interaction (a tuple: one per INTERACTIONS) or of all of them (an int).
# 404: not in the caller's scope (another tenant's, or not disclosed to BPJS-K); 403: seen, or judged by its
# content, and refused. "ok" means the interaction's success status. OWN_COPY: hospital B writes its own resource
# with A's id (ids are per tenant, issue 13 part 8: the first PUT creates it, the rest act on it); A's is untouched.
OWN_COPY = (201, 200, 200, 201, 200, 200)
EXPECTED: dict[str, dict[str, object]] = {
    "own Patient": {"facility-A": "ok", "eklaim-A": "ok", "facility-B": OWN_COPY,
                    "bpjs": 403, "admin": 403},
    # admin may write it; deleting it is a 409 while claims refer to it
    "shared Organization": {"facility-A": 403, "eklaim-A": 403, "facility-B": 403, "bpjs": 403,
                            "admin": (200, 200, 409, 200, 200, 409)},
    # facility-B: a PUT is judged by its content (subType grouping) before the store says 404; PATCH/DELETE by scope
    "grouping ClaimResponse": {"facility-A": 403, "eklaim-A": 403, "facility-B": (403, 404, 404, 403, 403, 404),
                               "bpjs": (403, 404, 404, 403, 403, 404), "admin": 403},
    "purifikasi ClaimResponse": {"facility-A": 403, "eklaim-A": 403, "facility-B": (403, 404, 404, 403, 403, 404),
                                 # its own answer: an update meets BPJS-K's order rules (no signed Bundle here:
                                 # 422), a patch is not how BPJS-K answers (403), a delete withdraws it
                                 "bpjs": (422, 403, 200, 422, 422, 200), "admin": 403},
    "claim Bundle": {"facility-A": 403, "eklaim-A": 403, "facility-B": OWN_COPY, "bpjs": 403,
                     "admin": 403},
    "AuditEvent": {"facility-A": 403, "eklaim-A": 403, "facility-B": 403, "bpjs": 403, "admin": 403},
}


def _claim_response(subtype: str, rid: str) -> dict:
    return {
        "resourceType": "ClaimResponse", "id": rid, "status": "active", "use": "claim", "outcome": "complete",
        "created": "2026-10-06T09:00:00+07:00",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "subType": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": subtype}]},
        "patient": {"reference": "Patient/ex1-patient"}, "insurer": {"reference": f"Organization/{BPJS_ORG}"},
        "request": {"reference": "Claim/ex1-claim"},
        "identifier": [{"system": f"http://sys-ids.kemkes.go.id/claim-number/{BPJS_ORG}",
                        "value": "0301R0011026V000101"}],
        "adjudication": [{"category": {"coding": [{"system": "http://terminology.kemkes.go.id",
                                                   "code": "TK000046"}]},
                          "reason": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": "TK000047",
                                                 "display": "Lolos Purifikasi"}]}}],
    }


@pytest.fixture
def world(app, runtime):
    clients = {"facility-A": authorized(app, "facility", HOSPITAL), "eklaim-A": authorized(app, "eklaim", HOSPITAL),
               "facility-B": authorized(app, "facility", OTHER_HOSPITAL), "bpjs": authorized(app, "bpjs"),
               "admin": authorized(app, "admin")}
    a = clients["facility-A"]
    assert a.post("", raw=EXAMPLE.read_bytes()).status_code == 200
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:
        pipeline = runtime.fhir_service(uow, author=PIPELINE_AUTHOR, interceptors=())
        pipeline.update("ClaimResponse", "grouping-1", _claim_response("grouping", "grouping-1"))
        pipeline.update("Bundle", "bundle-1", {"resourceType": "Bundle", "id": "bundle-1", "type": "collection"})
        bpjs = runtime.fhir_service(uow, author="bpjs:test-bpjs-all", interceptors=())  # no order rules here
        bpjs.update("ClaimResponse", "purifikasi-1", _claim_response("purifikasi", "purifikasi-1"))
    audit_id = a.get("/AuditEvent?_count=1").get_json()["entry"][0]["resource"]["id"]
    return {"clients": clients, "audit": audit_id, "runtime": runtime}


def _target(world, kind: str) -> tuple[str, str]:
    return {"own Patient": ("Patient", "undisclosed-a"), "shared Organization": ("Organization", BPJS_ORG),
            "grouping ClaimResponse": ("ClaimResponse", "grouping-1"),
            "purifikasi ClaimResponse": ("ClaimResponse", "purifikasi-1"),
            "claim Bundle": ("Bundle", "bundle-1"), "AuditEvent": ("AuditEvent", world["audit"])}[kind]


def _current(world, resource_type: str, resource_id: str) -> dict:
    """Hospital A's resource (or the shared one): B may hold its own with the same id (ids are per tenant)."""
    with world["runtime"].store.unit_of_work(tenant_scope(HOSPITAL), write=False) as uow:
        content = copy.deepcopy(uow.resources.read(resource_type, resource_id).content)
    content.pop("meta", None)
    return content


def _changed(content: dict) -> dict:
    """The stored content with one harmless change, as an attacker would send it."""
    if content["resourceType"] == "Patient":
        return {**content, "gender": "other"}
    if content["resourceType"] == "Organization":
        return {**content, "name": "Not BPJS any more"}
    if content["resourceType"] == "ClaimResponse":
        return {**content, "disposition": "changed by someone else"}
    return {**content, "language": "en"}


def _do(client, interaction: str, resource_type: str, resource_id: str, body: dict):
    path = f"/{resource_type}/{resource_id}"
    if interaction == "update":
        return client.put(path, body)
    if interaction == "patch":
        patch = [{"op": "add", "path": "/language", "value": "en"}]
        return client.patch(path, patch)
    if interaction == "delete":
        return client.delete(path)
    if interaction == "conditional-update":
        return client.put(f"/{resource_type}?_id={resource_id}", body)
    method = "PUT" if interaction == "transaction-update" else "DELETE"
    entry = {"request": {"method": method, "url": f"{resource_type}/{resource_id}"}}
    if method == "PUT":
        entry["resource"] = body
    return client.post("", {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})


CELLS = [(kind, role) for kind in EXPECTED for role in ROLES]


@pytest.mark.parametrize(("kind", "role"), CELLS, ids=[f"{k}-{r}" for k, r in CELLS])
def test_role_interaction_kind_matrix(world, kind, role):
    world["clients"]["facility-A"].put_resource({"resourceType": "Patient", "id": "undisclosed-a",
                                                 "gender": "female"})
    resource_type, resource_id = _target(world, kind)
    expected = EXPECTED[kind][role]
    initial = _current(world, resource_type, resource_id)
    statuses = {}
    for interaction in INTERACTIONS:
        body = _changed(_current(world, resource_type, resource_id))
        response = _do(world["clients"][role], interaction, resource_type, resource_id, body)
        statuses[interaction] = response.status_code
        if response.status_code >= 400:
            assert response.get_json()["resourceType"] == "OperationOutcome", (interaction, response.data[:200])
        _restore(world, resource_type, resource_id)
    want = {i: (OK[i] if expected == "ok" else expected if isinstance(expected, int) else expected[n])
            for n, i in enumerate(INTERACTIONS)}
    assert statuses == want, (kind, role)
    if expected == OWN_COPY:
        assert _current(world, resource_type, resource_id) == initial


def _restore(world, resource_type: str, resource_id: str) -> None:
    """Undo a permitted deletion, so that every interaction of a row starts from the same stored resource."""
    with world["runtime"].store.unit_of_work(tenant_scope(HOSPITAL)) as uow:
        stored = uow.resources.find(resource_type, resource_id)
        if stored is not None and stored.deleted:
            previous = uow.resources.vread(resource_type, resource_id, stored.version_id - 1).content
            # through the service, so that its listeners run as for any write (a BPJS-K answer is disclosed again)
            service = world["runtime"].fhir_service(uow, author="test:restore", interceptors=())
            service.update(resource_type, resource_id, {k: v for k, v in previous.items() if k != "meta"})


def test_matrix_size_is_what_the_report_says():
    assert len(ROLES) * len(INTERACTIONS) * len(EXPECTED) == 180


def test_a_409_names_only_what_the_caller_can_read(world):
    """Admin may delete the shared Organization only when nothing refers to it; its 409 names what admin can
    read. Another hospital's reference with the same id names its own partition's resource, so it neither blocks
    nor is revealed by a hospital's delete (issue 13 part 8)."""
    c, runtime = world["clients"], world["runtime"]
    with runtime.store.unit_of_work(tenant_scope(OTHER_HOSPITAL)) as uow:  # B's link names B's Patient/undisclosed-a
        uow.resources.create({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                              "subject": {"reference": "Patient/undisclosed-a"}}, resource_id="b-secret-obs")
    c["facility-A"].put_resource({"resourceType": "Patient", "id": "undisclosed-a", "gender": "female"})
    c["facility-A"].create({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                            "subject": {"reference": "Patient/undisclosed-a"}})
    refused = c["facility-A"].delete("/Patient/undisclosed-a")
    assert refused.status_code == 409
    text = json.dumps(refused.get_json())
    assert "b-secret-obs" not in text and "Observation/" in text and "cannot read" not in text
    admin = c["admin"].delete(f"/Organization/{BPJS_ORG}")
    assert admin.status_code == 409 and "Claim/ex1-claim" in json.dumps(admin.get_json())


def test_every_tenant_still_reads_the_seeded_name_after_refused_writes(world):
    c = world["clients"]
    body = _changed(_current(world, "Organization", BPJS_ORG))
    assert c["facility-A"].put(f"/Organization/{BPJS_ORG}", body).status_code == 403
    assert c["facility-B"].request("PATCH", f"/Organization/{BPJS_ORG}", {"name": "mine"},
                                   content_type="application/merge-patch+json").status_code == 403
    for role in ("facility-A", "facility-B", "bpjs"):
        assert c[role].get(f"/Organization/{BPJS_ORG}").get_json()["name"] == "BPJS Kesehatan"
