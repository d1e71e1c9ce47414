"""The subscription secret: set by extension, kept encrypted apart, never answered; Subscriptions are checked."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from webhook_helpers import OTHER_SECRET, SECRET, claim, claim_response, outcome_text, subscription

from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.outbox import WebhookSecretRow
from fhirclaim.store.scope import Scope
from fhirclaim.webhooks import SECRET_EXTENSION

OTHER_EXTENSION = {"url": "http://example.org/fhir/StructureDefinition/note", "valueString": "kept"}


def _stored_secret(runtime, subscription_id: str) -> str | None:
    with runtime.store.database.session(write=False) as session:
        row = session.get(WebhookSecretRow, subscription_id)
        return None if row is None else runtime.secrets.decrypt(row.encrypted)


def test_the_secret_is_never_answered_nor_stored_in_the_resource(runtime, fhir, worker, receiver):
    created = fhir.post("/Subscription", subscription(receiver.url))
    assert created.status_code == 201
    sub = created.get_json()
    assert "extension" not in sub
    fhir.put_resource({**sub, "reason": "second version"})
    answers = [created, fhir.get(f"/Subscription/{sub['id']}"), fhir.get(f"/Subscription/{sub['id']}/_history/1"),
               fhir.get(f"/Subscription/{sub['id']}/_history"), fhir.get("/Subscription/_history"),
               fhir.get("/_history"), fhir.get("/Subscription?status=active"),
               fhir.post("/Subscription/_search", raw=b"type=rest-hook",
                         content_type="application/x-www-form-urlencoded")]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert SECRET not in answer.get_data(as_text=True)
        assert SECRET_EXTENSION not in answer.get_data(as_text=True)
    with runtime.store.database.session(write=False) as session:
        stored_text = session.execute(text("SELECT content FROM resource UNION ALL "
                                           "SELECT content FROM resource_version")).scalars().all()
        encrypted = session.scalars(select(WebhookSecretRow.encrypted)).all()
    assert stored_text and not any(SECRET in t for t in stored_text if t)
    assert len(encrypted) == 1 and SECRET not in encrypted[0]  # encrypted at rest ...
    assert _stored_secret(runtime, sub["id"]) == SECRET  # ... and readable with the installation key


def test_other_extensions_stay(fhir, worker, receiver):
    resource = subscription(receiver.url)
    resource["extension"].insert(0, OTHER_EXTENSION)
    sub = fhir.create(resource)
    assert sub["extension"] == [OTHER_EXTENSION]


def test_requested_becomes_active(fhir, worker, receiver):
    assert fhir.create(subscription(receiver.url, status="requested"))["status"] == "active"


def test_an_update_without_the_extension_keeps_the_secret_and_one_with_it_replaces_it(
        runtime, fhir, shared, service, worker, receiver):
    sub = fhir.create(subscription(receiver.url))
    sub = fhir.put_resource({**sub, "reason": "no secret in this update"})
    assert _stored_secret(runtime, sub["id"]) == SECRET
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1")))
    worker.run_once()

    rotated = {**sub, "extension": [{"url": SECRET_EXTENSION, "valueString": OTHER_SECRET}]}
    fhir.put_resource(rotated)  # rotation alone: same content, no new version, new secret
    assert fhir.get(f"/Subscription/{sub['id']}").get_json()["meta"]["versionId"] == "2"
    assert _stored_secret(runtime, sub["id"]) == OTHER_SECRET
    service(lambda s: s.update("ClaimResponse", "r1", {**claim_response("r1", "c1"), "disposition": "v2"}))
    worker.run_once()
    assert [r.signed_with(SECRET) for r in receiver.received] == [True, False]
    assert receiver.received[1].signed_with(OTHER_SECRET)


def test_a_refused_write_leaves_the_old_secret(runtime, service, worker, receiver):
    """The secret is written on the request's transaction: when the write fails, it is rolled back too."""
    tenant_a, tenant_b = Scope(tenant="rs-a", all_tenants=False), Scope(tenant="rs-b", all_tenants=False)
    service(lambda s: s.create(subscription(receiver.url), resource_id="sub-a"), tenant_a)
    takeover = {**subscription(receiver.url, secret=OTHER_SECRET), "id": "sub-a"}
    with pytest.raises(FhirError) as refused:
        service(lambda s: s.update("Subscription", "sub-a", takeover), tenant_b)
    assert refused.value.status == 405  # a hospital cannot choose a Subscription's id, taken elsewhere or not
    assert _stored_secret(runtime, "sub-a") == SECRET
    with pytest.raises(FhirError) as unknown:
        service(lambda s: s.update("Subscription", "sub-nobody", {**takeover, "id": "sub-nobody"}), tenant_b)
    assert (unknown.value.status, unknown.value.outcome()) == (refused.value.status, refused.value.outcome())


def test_a_subscription_that_is_off_needs_no_secret(fhir, worker, receiver):
    assert fhir.create(subscription(receiver.url, secret=None, status="off"))["status"] == "off"


def _bad(receiver_url: str, case: str) -> dict:
    resource = subscription(receiver_url)
    channel = resource["channel"]
    if case == "no endpoint":
        del channel["endpoint"]
    elif case == "websocket":
        channel["type"] = "websocket"
    elif case == "ftp endpoint":
        channel["endpoint"] = "ftp://example.org/hook"
    elif case == "relative endpoint":
        channel["endpoint"] = "/hook"
    elif case == "xml payload":
        channel["payload"] = "application/fhir+xml"
    elif case == "bad header":
        channel["header"] = ["no colon here"]
    elif case == "short secret":
        resource["extension"][0]["valueString"] = "short"
    elif case == "two secrets":
        resource["extension"].append({"url": SECRET_EXTENSION, "valueString": OTHER_SECRET})
    elif case == "active without secret":
        del resource["extension"]
    else:
        resource["criteria"] = case
    return resource


BAD = {
    "no endpoint": ("Subscription.channel.endpoint", "channel.endpoint"),
    "websocket": ("Subscription.channel.type", "only delivers rest-hook"),
    "ftp endpoint": ("Subscription.channel.endpoint", "http(s) URL"),
    "relative endpoint": ("Subscription.channel.endpoint", "http(s) URL"),
    "xml payload": ("Subscription.channel.payload", "application/fhir+xml"),
    "bad header": ("Subscription.channel.header[0]", "Name: value"),
    "short secret": ("Subscription.extension", "at least 16 characters"),
    "two secrets": ("Subscription.extension", "only once"),
    "active without secret": ("Subscription.extension", "needs its signing secret"),
    "Nonsense?x=1": ("Subscription.criteria", "'Nonsense' is not a resource type"),
    "Subscription?status=active": ("Subscription.criteria", "'Subscription' is not a resource type"),
    "ClaimResponse?bogus=1": ("Subscription.criteria", "bogus"),
    "ClaimResponse?created=yesterday": ("Subscription.criteria", "yesterday"),
    "ClaimResponse?_count=5": ("Subscription.criteria", "_count is a result parameter"),
    "request.provider=Organization/x": ("Subscription.criteria", "not a resource type"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_subscriptions_are_422_with_the_reason(case, runtime, fhir, worker, receiver):
    response = fhir.post("/Subscription", _bad(receiver.url, case))
    assert response.status_code == 422, response.get_json()
    expression, words = BAD[case]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert any(expression in issue.get("expression", []) for issue in body["issue"]), json.dumps(body)
    assert words in outcome_text(response)
    assert fhir.get("/Subscription").get_json()["total"] == 0
    with runtime.store.database.session(write=False) as session:
        assert session.scalars(select(WebhookSecretRow)).all() == []


def test_every_problem_is_reported_at_once(fhir, worker, receiver):
    resource = _bad(receiver.url, "websocket")
    resource["criteria"] = "ClaimResponse?bogus=1"
    del resource["extension"]
    response = fhir.post("/Subscription", resource)
    assert response.status_code == 422
    expressions = {e for issue in response.get_json()["issue"] for e in issue.get("expression", [])}
    assert {"Subscription.channel.type", "Subscription.criteria", "Subscription.extension"} <= expressions
