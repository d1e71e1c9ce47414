"""BPJS-K learns of published claims by webhook (`claimBundle`), and only of what hospitals disclosed to it: its
Subscription is matched in BPJS-K's own view, never the system's."""

from __future__ import annotations

from sqlalchemy import select

from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.store.outbox import DeliveryRow

from testkit import HOSPITAL, REPO_ROOT, authorized

SECRET = {"url": "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret",
          "valueString": "bpjs-webhook-secret-0123456789"}


def _deliveries(runtime) -> list[DeliveryRow]:
    with runtime.store.unit_of_work(write=False) as uow:
        return list(uow.session.execute(select(DeliveryRow)).scalars())


def test_bpjs_subscription_hears_of_published_claim_bundles_only(app, runtime):
    bpjs, facility = authorized(app, "bpjs"), authorized(app, "facility", HOSPITAL)
    subscription = bpjs.post("/Subscription", {
        "resourceType": "Subscription", "status": "requested", "reason": "claim bundles",
        "criteria": "Bundle?type=collection", "extension": [SECRET],
        "channel": {"type": "rest-hook", "endpoint": "https://bpjs.example/webhook"}})
    assert subscription.status_code == 201
    assert bpjs.get(f"/Subscription/{subscription.get_json()['id']}").status_code == 200
    assert facility.get(f"/Subscription/{subscription.get_json()['id']}").status_code == 404

    facility.post("/Bundle", {"resourceType": "Bundle", "type": "collection", "entry": []})  # not published
    assert _deliveries(runtime) == []

    example = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"
    assert facility.post("", raw=example.read_bytes()).status_code == 200
    PipelineWorker(runtime.pipeline).run_until_idle()
    deliveries = [d for d in _deliveries(runtime) if d.subscription_id == subscription.get_json()["id"]]
    assert [(d.resource_type, d.method) for d in deliveries] == [("Bundle", "claimBundle")]
