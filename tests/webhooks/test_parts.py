"""The small parts on their own: method names, envelope bytes, signatures, backoff, criteria."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from decimal import Decimal

import pytest
from webhook_helpers import load_fixture

from fhirclaim.backoff import Backoff
from fhirclaim.webhooks.criteria import parse_criteria
from fhirclaim.webhooks.envelope import envelope_body, method_for
from fhirclaim.webhooks.signature import sign, verify

CATALOGUE = load_fixture("satusehat/examples-derived/webhook-envelope.json")


@pytest.mark.parametrize(("resource", "method"), [
    ({"resourceType": "Bundle", "type": "collection"}, "claimBundle"),
    ({"resourceType": "Bundle", "type": "transaction"}, "bundleSubmission"),
    ({"resourceType": "ClaimResponse"}, "claimResponseSubmission"),
    ({"resourceType": "CoverageEligibilityResponse"}, "coverageEligibilityResponseSubmission"),
    ({"resourceType": "ChargeItem"}, "chargeItemSubmission"),
    ({"resourceType": "PaymentNotice"}, "paymentNoticeSubmission"),
    ({"resourceType": "PaymentReconciliation"}, "paymentReconciliationSubmission"),
    ({"resourceType": "Claim"}, "claimSubmission"),
    ({"resourceType": "DocumentReference"}, "documentReferenceSubmission"),
])
def test_method_names(resource, method):
    assert method_for(resource) == method


def test_method_names_are_those_of_the_satusehat_catalogue():
    catalogue = CATALOGUE["katalog_webhook_envelope_per_postman (Klaim Swasta)"]["meta"]["method"]
    names = set(catalogue.strip("{}").split("|"))
    ours = {method_for({"resourceType": t, "type": "collection"}) for t in (
        "Bundle", "ClaimResponse", "CoverageEligibilityResponse", "ChargeItem", "PaymentNotice",
        "PaymentReconciliation")}
    assert ours <= names


def test_envelope_bytes_have_the_catalogue_shape_and_keep_decimals():
    resource = {"resourceType": "ClaimResponse", "id": "r1", "total": [{"amount": {"value": Decimal("1400.00")}}]}
    body = envelope_body(resource, "claimResponseSubmission", "tx-1", "2026-01-02T03:04:05.000Z")
    shape = CATALOGUE["katalog_webhook_envelope_per_postman (Klaim Swasta)"]
    assert set(json.loads(body)) == set(shape) == {"data", "meta", "transaction_id", "timestamp"}
    assert json.loads(body)["data"]["fhir"]["id"] == "r1"
    assert b'"value":1400.00' in body and b" " not in body


def test_signatures():
    body = b'{"a":1}'
    header = sign("k" * 20, body)
    assert header == "sha256=" + hmac.new(b"k" * 20, body, hashlib.sha256).hexdigest()
    assert verify("k" * 20, body, header)
    assert not verify("k" * 19 + "x", body, header)
    assert not verify("k" * 20, body + b" ", header)
    assert not verify("k" * 20, body, header.removeprefix("sha256="))
    assert not verify("k" * 20, body, None)
    assert not verify("k" * 20, body, "sha256=" + "0" * 64)


def test_backoff_defaults_double_from_one_second_and_cap_at_an_hour():
    backoff = Backoff(1, 2, 3600)
    assert backoff.schedule(10) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert backoff.delay(12) == 2048 and backoff.delay(13) == 3600 and backoff.delay(40) == 3600
    assert backoff.delay(5000) == 3600  # 2**4999 overflows a float: the cap, not an OverflowError (a listener's
    # reconnections in a long outage count that high)


def test_backoff_jitter_stays_within_its_fraction_and_follows_the_random_source():
    backoff = Backoff(100, 2, 3600, jitter=0.2)
    delays = [backoff.delay(1, random.Random(seed)) for seed in range(50)]
    assert all(80 <= d <= 120 for d in delays) and len(set(delays)) == 50
    assert backoff.delay(1, random.Random(3)) == backoff.delay(1, random.Random(3))


@pytest.mark.parametrize("text", ["ClaimResponse?request.provider=Organization/x", "ClaimResponse?",
                                  "ClaimResponse", "Bundle?type=collection", "ClaimResponse?outcome=complete&_id=a",
                                  "Claim?provider=Organization%2Fx"])
def test_good_criteria(text):
    criteria, issues = parse_criteria(text)
    assert issues == [] and criteria.resource_type == text.partition("?")[0]


def test_criteria_search_adds_the_changed_id():
    criteria, _ = parse_criteria("ClaimResponse?request.provider=Organization/x")
    request = criteria.search_for("r9", "UTC")
    assert [c.param.name for c in request.criteria] == ["request", "_id"]
    assert request.criteria[1].values[0].code == "r9"


@pytest.mark.parametrize("text", [None, "", "  ", "Foo?a=b", "Subscription?status=active", "ClaimResponse?nope=1",
                                  "ClaimResponse?_include=ClaimResponse:request", "ClaimResponse?created=bad"])
def test_bad_criteria(text):
    criteria, issues = parse_criteria(text)
    assert criteria is None and issues and all(i.expression == ("Subscription.criteria",) for i in issues)
