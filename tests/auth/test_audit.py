"""Every write and every denied request leaves an AuditEvent: who, what, when, outcome."""

from __future__ import annotations

from testkit import HOSPITAL


def test_a_write_is_audited_in_the_writers_tenant(world):
    a = world["clients"]["facility-A"]
    created = a.create({"resourceType": "Patient", "gender": "female"})
    events = a.get(f"/AuditEvent?entity=Patient/{created['id']}").get_json()
    assert events["total"] == 1
    event = events["entry"][0]["resource"]
    assert event["action"] == "C" and event["outcome"] == "0"
    assert event["subtype"][0]["code"] == "create"
    assert event["agent"][0]["who"]["display"] == f"facility:test-facility-{HOSPITAL}"
    assert event["entity"][0]["what"]["reference"] == f"Patient/{created['id']}/_history/1"
    assert world["clients"]["facility-B"].get(f"/AuditEvent?entity=Patient/{created['id']}").get_json()["total"] == 0


def test_the_pipeline_writes_are_audited_as_the_pipeline(world):
    a = world["clients"]["facility-A"]
    events = a.get(f"/AuditEvent?entity=Claim/{world['claim']['id']}&_count=50").get_json()["entry"]
    authors = {e["resource"]["agent"][0]["who"]["display"] for e in events}
    assert {f"facility:test-facility-{HOSPITAL}", "system:pipeline"} <= authors


def test_denied_requests_are_audited_in_the_callers_own_tenant(world, runtime):
    world["anonymous"].get("/Claim")  # no AuditEvent: the security log counts it
    world["clients"]["bpjs"].post("/Patient", {"resourceType": "Patient"})
    admin = world["clients"]["admin"]
    events = [e["resource"] for e in admin.get("/AuditEvent?outcome=4&_count=50").get_json()["entry"]]
    assert [e["outcomeDesc"][:3] for e in events] == ["403"]
    forbidden = events[0]
    assert forbidden["agent"][0]["who"]["display"] == "bpjs:test-bpjs-all"
    assert forbidden["agent"][0]["network"]["address"]
    assert world["clients"]["bpjs"].get(f"/AuditEvent/{forbidden['id']}").status_code == 200  # its own
    for hospital in ("facility-A", "facility-B"):  # nobody else's
        assert world["clients"][hospital].get(f"/AuditEvent/{forbidden['id']}").status_code == 404
        assert world["clients"][hospital].get("/AuditEvent?outcome=4").get_json()["total"] == 0


def test_the_audit_trail_cannot_be_written_or_deleted_by_clients(world):
    a = world["clients"]["facility-A"]
    event_id = a.get("/AuditEvent?_count=1").get_json()["entry"][0]["resource"]["id"]
    assert a.delete(f"/AuditEvent/{event_id}").status_code == 403
    assert a.put(f"/AuditEvent/{event_id}", {"resourceType": "AuditEvent", "id": event_id}).status_code == 403


def test_an_audit_event_is_its_own_one_version(world, runtime):
    """AuditEvents are append-only (issue 17): no version rows, yet vread and every history show each one once."""
    from sqlalchemy import func, select

    from fhirclaim.store.models import ResourceVersionRow

    a = world["clients"]["facility-A"]
    created = a.create({"resourceType": "Patient", "gender": "female"})
    [entry] = a.get(f"/AuditEvent?entity=Patient/{created['id']}").get_json()["entry"]
    event = entry["resource"]
    with runtime.store.unit_of_work(write=False) as uow:
        assert uow.session.execute(select(func.count()).select_from(ResourceVersionRow)
                                   .where(ResourceVersionRow.resource_type == "AuditEvent")).scalar_one() == 0
    first = a.get(f"/AuditEvent/{event['id']}/_history/1")
    assert first.status_code == 200 and first.get_json() == event
    assert a.get(f"/AuditEvent/{event['id']}/_history/2").status_code == 404
    history = a.get(f"/AuditEvent/{event['id']}/_history").get_json()
    assert history["total"] == 1
    assert [(e["resource"], e["request"]["method"]) for e in history["entry"]] == [(event, "POST")]
    searched = a.get("/AuditEvent?_count=0").get_json()["total"]
    assert a.get("/AuditEvent/_history?_count=1").get_json()["total"] == searched
    system = a.get("/_history?_count=500").get_json()
    audited = [e["resource"]["id"] for e in system["entry"] if e["resource"]["resourceType"] == "AuditEvent"]
    assert len(audited) == len(set(audited)) == searched  # each AuditEvent once, beside the other versions
    assert system["total"] == searched + a.get("/Patient/_history?_count=0").get_json()["total"] + sum(
        a.get(f"/{kind}/_history?_count=0").get_json()["total"]
        for kind in {e["resource"]["resourceType"] for e in system["entry"]} - {"AuditEvent", "Patient"})
    assert world["clients"]["facility-B"].get(f"/AuditEvent/{event['id']}/_history/1").status_code == 404


def test_the_store_refuses_to_change_an_audit_event(world, runtime):
    """Nothing may update or delete one: its version 1 is its only version (below the API's 403 for clients)."""
    import pytest

    from fhirclaim.fhir.outcome import FhirError

    event = world["clients"]["admin"].get("/AuditEvent?_count=1").get_json()["entry"][0]["resource"]
    with runtime.store.unit_of_work() as uow:
        with pytest.raises(FhirError) as changed:
            uow.resources.update({**event, "outcome": "8"})
        with pytest.raises(FhirError) as deleted:
            uow.resources.delete("AuditEvent", event["id"])
    assert changed.value.status == deleted.value.status == 405
