"""Changes become signed SATUSEHAT envelopes at a real HTTP receiver: matching, envelope, headers, tenancy."""

from __future__ import annotations

import json

from webhook_helpers import CRITERIA_X, SECRET, claim, claim_response, subscription

from fhirclaim.store.scope import Scope
from fhirclaim.webhooks import list_deliveries


def _subscribe(fhir, receiver, **kw) -> dict:
    response = fhir.post("/Subscription", subscription(receiver.url, **kw))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _claim_and_response(service, claim_id="c1", response_id="r1", provider="x"):
    service(lambda s: s.update("Claim", claim_id, claim(claim_id, provider)))
    return service(lambda s: s.update("ClaimResponse", response_id, claim_response(response_id, claim_id, provider)))


def test_matching_claim_response_is_delivered_once_signed_in_the_envelope(fhir, shared, service, worker, receiver,
                                                                            clock):
    sub = _subscribe(fhir, receiver)
    stored, _ = _claim_and_response(service)

    assert worker.run_once() == 1
    assert worker.run_once() == 0  # delivered: nothing due any more
    assert len(receiver.received) == 1
    hit = receiver.received[0]
    assert hit.path == "/hook"
    assert hit.signed_with(SECRET)
    envelope = hit.envelope
    assert set(envelope) == {"data", "meta", "transaction_id", "timestamp"}
    assert envelope["meta"] == {"method": "claimResponseSubmission"}
    assert envelope["data"]["fhir"] == json.loads(json.dumps(stored.content, default=float))
    assert envelope["data"]["fhir"]["meta"]["versionId"] == "1"
    assert envelope["timestamp"] == stored.content["meta"]["lastUpdated"]
    assert b'"value":100.47' in hit.body  # FHIR decimals go out as they were stored
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-webhook-id"] == envelope["transaction_id"]
    assert hit.headers["x-webhook-timestamp"] == str(int(clock().timestamp()))
    assert hit.headers["user-agent"].startswith("fhirclaim-webhooks/")
    [delivery] = list_deliveries(worker.store)
    assert delivery["status"] == "delivered"
    assert delivery["subscription"] == f"Subscription/{sub['id']}"
    assert delivery["resource"] == "ClaimResponse/r1/_history/1"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [200]


def test_non_matching_claim_response_is_not_delivered(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver)
    _claim_and_response(service, provider="y")  # the claim's provider is y, the criteria ask for x
    assert worker.run_once() == 0
    assert receiver.received == []
    assert list_deliveries(worker.store) == []


def test_other_types_and_subscriptions_are_not_notified(fhir, shared, service, worker, receiver):
    sub = _subscribe(fhir, receiver)
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))  # a Claim: the criteria name ClaimResponse
    fhir.put_resource({**sub, "reason": "changed"})  # a Subscription change
    _subscribe(fhir, receiver, criteria="ClaimResponse?")  # a new Subscription
    assert worker.run_once() == 0
    assert receiver.received == []


def test_every_update_is_a_notification_and_deletes_are_not(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver)
    stored, _ = _claim_and_response(service)
    service(lambda s: s.update("ClaimResponse", "r1", {**stored.content, "disposition": "changed"}))
    service(lambda s: s.delete("ClaimResponse", "r1"))
    assert worker.run_once() == 2
    versions = [r.envelope["data"]["fhir"]["meta"]["versionId"] for r in receiver.received]
    assert sorted(versions) == ["1", "2"]
    assert len({r.headers["x-webhook-id"] for r in receiver.received}) == 2


def test_each_matching_subscription_gets_its_own_row_and_signature(fhir, shared, service, worker, receiver):
    from webhook_helpers import OTHER_SECRET

    _subscribe(fhir, receiver)
    _subscribe(fhir, receiver, criteria="ClaimResponse?outcome=complete", secret=OTHER_SECRET)
    _subscribe(fhir, receiver, criteria="ClaimResponse?outcome=error")  # no match
    _claim_and_response(service)
    assert worker.run_once() == 2
    signed = sorted((r.signed_with(SECRET), r.signed_with(OTHER_SECRET)) for r in receiver.received)
    assert signed == [(False, True), (True, False)]
    assert len({r.envelope["transaction_id"] for r in receiver.received}) == 2


def test_channel_headers_are_sent_but_cannot_replace_ours(fhir, shared, service, worker, receiver):
    resource = subscription(receiver.url)
    resource["channel"]["header"] = ["X-Api-Key: abc", "X-Signature: forged"]
    assert fhir.post("/Subscription", resource).status_code == 201
    _claim_and_response(service)
    worker.run_once()
    [hit] = receiver.received
    assert hit.headers["x-api-key"] == "abc"
    assert hit.signed_with(SECRET)


def test_a_subscription_switched_off_cancels_what_is_pending(fhir, shared, service, worker, receiver):
    sub = _subscribe(fhir, receiver)
    _claim_and_response(service)
    fhir.put_resource({**sub, "status": "off"})
    assert worker.run_once() == 1
    assert receiver.received == []
    [delivery] = list_deliveries(worker.store)
    assert (delivery["status"], delivery["attempt_log"]) == ("cancelled", [])


def test_an_ended_subscription_matches_nothing(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver, end="2021-01-01T00:00:00Z")
    _claim_and_response(service)
    assert worker.run_once() == 0


# --- tenancy ----------------------------------------------------------------------------------------------

TENANT_A, TENANT_B = Scope(tenant="rs-a", all_tenants=False), Scope(tenant="rs-b", all_tenants=False)


def test_a_tenant_subscription_never_hears_of_another_tenants_resources(runtime, shared, service, worker, receiver):
    from webhook_helpers import OTHER_SECRET

    # Same criteria, same provider Organization/x (shared): only the tenant boundary tells them apart.
    service(lambda s: s.create(subscription(receiver.url), resource_id="sub-a"), TENANT_A)
    service(lambda s: s.create(subscription(receiver.url, secret=OTHER_SECRET), resource_id="sub-sys"))
    for scope, suffix in ((TENANT_A, "a"), (TENANT_B, "b")):
        service(lambda s, n=suffix: s.update("Claim", f"c-{n}", claim(f"c-{n}", "x")), scope)
        service(lambda s, n=suffix: s.update("ClaimResponse", f"r-{n}", claim_response(f"r-{n}", f"c-{n}")), scope)

    assert worker.run_once() == 3
    by_subscription = {}
    for hit in receiver.received:
        key = "sub-a" if hit.signed_with(SECRET) else "sub-sys" if hit.signed_with(OTHER_SECRET) else "?"
        by_subscription.setdefault(key, set()).add(hit.envelope["data"]["fhir"]["id"])
    assert by_subscription == {"sub-a": {"r-a"}, "sub-sys": {"r-a", "r-b"}}
    tenants = {d["subscription"]: d["tenant"] for d in list_deliveries(worker.store)}
    assert tenants == {"Subscription/sub-a": "rs-a", "Subscription/sub-sys": None}


def test_criteria_are_the_rest_search(fhir, shared, service, worker, receiver):
    """Whatever the REST search answers for the criteria is exactly what is notified."""
    _subscribe(fhir, receiver)
    _claim_and_response(service)
    found = fhir.get(f"/{CRITERIA_X}").get_json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["r1"]
    worker.run_once()
    assert [r.envelope["data"]["fhir"]["id"] for r in receiver.received] == ["r1"]


def test_a_claim_bundle_is_a_claimbundle_notification(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver, criteria="Bundle?type=collection")
    collection = {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-02T03:04:05+07:00",
                  "entry": [{"fullUrl": "urn:uuid:5f1c3b0e-0d5e-4d8a-9c39-2a3c1f0e9b11",
                             "resource": claim("c9", "x")}]}
    stored = fhir.create(collection)
    fhir.create({"resourceType": "Bundle", "type": "searchset"})  # not a collection: not notified
    assert worker.run_once() == 1
    [hit] = receiver.received
    assert hit.envelope["meta"]["method"] == "claimBundle"
    assert hit.envelope["data"]["fhir"]["id"] == stored["id"]


def test_entries_of_a_transaction_are_notified(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver)
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": claim_response("r1", "c1"), "request": {"method": "PUT", "url": "ClaimResponse/r1"}},
        {"resource": claim_response("r2", "c1"), "request": {"method": "PUT", "url": "ClaimResponse/r2"}}]}
    response = fhir.post("", transaction)
    assert response.status_code == 200, response.get_json()
    assert worker.run_once() == 2
    assert sorted(r.envelope["data"]["fhir"]["id"] for r in receiver.received) == ["r1", "r2"]


def test_a_failed_transaction_leaves_no_outbox_row(fhir, shared, service, worker, receiver):
    _subscribe(fhir, receiver)
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": claim_response("r1", "c1"), "request": {"method": "PUT", "url": "ClaimResponse/r1"}},
        {"resource": claim_response("r2", "missing-claim"), "request": {"method": "PUT", "url": "ClaimResponse/r2"}}]}
    assert fhir.post("", transaction).status_code >= 400
    assert list_deliveries(worker.store) == []
    assert worker.run_once() == 0
