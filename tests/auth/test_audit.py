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
