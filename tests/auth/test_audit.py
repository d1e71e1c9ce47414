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
    """AuditEvents live in the append-only audit table (issue 17): no version rows, yet vread and every history show
    each one once."""
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


def test_the_audit_trail_is_searched_by_what_it_records(world):
    """The audit table answers the AuditEvent search parameters it lists, with the generic search's semantics."""
    a = world["clients"]["facility-A"]
    created = a.create({"resourceType": "Patient", "gender": "female"})
    a.put_resource({**created, "gender": "male"})
    entity = f"Patient/{created['id']}"

    def ids(query: str) -> list[str]:
        answer = a.get(f"/AuditEvent?{query}")
        assert answer.status_code == 200, answer.get_json()
        return [e["resource"]["id"] for e in answer.get_json().get("entry", [])]

    trail = [e["resource"] for e in a.get(f"/AuditEvent?entity={entity}&_sort=date").get_json()["entry"]]
    assert [e["subtype"][0]["code"] for e in trail] == ["create", "update"]
    first, second = (e["id"] for e in trail)
    assert ids(f"entity={entity}&_sort=-date") == [second, first]
    assert ids(f"entity:Patient={created['id']}&_sort=date") == [first, second]
    assert ids(f"entity={created['id']}&action=U") == [second]
    assert ids(f"entity={entity}&subtype=http://hl7.org/fhir/restful-interaction|create") == [first]
    assert ids(f"entity={entity}&subtype=http://elsewhere|create") == []
    assert ids(f"entity={entity}&outcome=0&type=rest&_sort=date") == [first, second]
    assert ids(f"entity={entity}&outcome:not=0") == []
    assert ids(f"_id={first},{second}&_sort=date") == [first, second]
    recorded = trail[1]["recorded"]
    assert ids(f"entity={entity}&date=ge{recorded}") == [second]
    assert ids(f"entity={entity}&date=lt{recorded}") == [first]
    assert ids(f"entity={entity}&date=lt2020-01-01") == []
    page = a.get(f"/AuditEvent?entity={entity}&_sort=date&_count=1").get_json()
    assert page["total"] == 2 and [e["resource"]["id"] for e in page["entry"]] == [first]
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert ids(following.split("?", 1)[1]) == [second]


def test_the_audit_trail_is_revincluded_and_refuses_what_it_does_not_answer(world):
    a = world["clients"]["facility-A"]
    created = a.create({"resourceType": "Patient", "gender": "female"})
    bundle = a.get(f"/Patient?_id={created['id']}&_revinclude=AuditEvent:entity").get_json()
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [(e["resourceType"], e["entity"][0]["what"]["reference"]) for e in included] == [
        ("AuditEvent", f"Patient/{created['id']}/_history/1")]
    assert world["clients"]["facility-B"].get(
        f"/Patient?_id={created['id']}&_revinclude=AuditEvent:entity").get_json()["total"] == 0
    for query in ("agent=Device/x", "_include=AuditEvent:agent", "_revinclude=Provenance:target", "_sort=outcome",
                  "entity.name=x"):
        refused = a.get(f"/AuditEvent?{query}")
        assert refused.status_code == 400, query
        assert refused.get_json()["resourceType"] == "OperationOutcome"
    assert a.get(f"/Patient?_id={created['id']}&_revinclude=AuditEvent:agent").status_code == 400



def test_what_a_revincluded_audit_event_points_at_is_in_the_bundle_already(world):
    """`_include:iterate=AuditEvent:entity` from the revincluded AuditEvents brings nothing more: `entity`
    (entity.what) is the version of the resource the event was revincluded for, which the Bundle holds already (a
    match or an include). Its other reference parameters are refused, as `_revinclude` refuses them: the audit table
    keeps only the entity (`agent`, agent.who, names the client by identifier and display, `source`,
    source.observer, the server by display, no literal reference either)."""
    a = world["clients"]["facility-A"]
    claim_id = world["claim"]["id"]
    patient_id = world["claim"]["patient"]["reference"].split("/")[1]
    iterate = "&_include:iterate=AuditEvent:entity"

    def found(query: str) -> list[tuple[str, str, str]]:
        answer = a.get(query)
        assert answer.status_code == 200, answer.get_json()
        return sorted((e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"])
                      for e in answer.get_json()["entry"])

    plain = found(f"/Claim?_id={claim_id}&_revinclude=AuditEvent:entity")
    events = [a.get(f"/AuditEvent/{i}").get_json() for t, i, _ in plain if t == "AuditEvent"]
    assert len(events) >= 2
    for event in events:
        assert event["entity"][0]["what"]["reference"].startswith(f"Claim/{claim_id}/_history/")
        assert "reference" not in event["agent"][0]["who"] and "reference" not in event["source"]["observer"]
    assert found(f"/Claim?_id={claim_id}&_revinclude=AuditEvent:entity{iterate}") == plain

    patient = [(t, i, "include") for t, i, _ in found(f"/Patient?_id={patient_id}&_revinclude=AuditEvent:entity")]
    assert ("Patient", patient_id, "include") in patient and len(patient) >= 2
    assert found(f"/Claim?_id={claim_id}&_include=Claim:patient&_revinclude:iterate=AuditEvent:entity{iterate}") \
        == sorted(plain + patient)
    for param in ("agent", "source"):
        refused = a.get(f"/Claim?_id={claim_id}&_revinclude=AuditEvent:entity&_include:iterate=AuditEvent:{param}")
        assert refused.status_code == 400 and refused.get_json()["issue"] == [
            {"severity": "error", "code": "not-supported",
             "details": {"text": f"_include=AuditEvent:{param} is not supported (AuditEvent:entity is)"}}]


def test_a_resource_two_directives_reach_comes_once(world):
    """Two include directives of one round that reach the same resource (`_include` and its `:iterate`, or
    `_revinclude=AuditEvent:entity` and its `:iterate`) put it in the Bundle once."""
    a = world["clients"]["facility-A"]
    claim_id = world["claim"]["id"]
    for query in ("_include=Claim:patient&_include=Claim:enterer&_include:iterate=Claim:patient",
                  "_revinclude=AuditEvent:entity&_revinclude:iterate=AuditEvent:entity"):
        entries = a.get(f"/Claim?_id={claim_id}&{query}").get_json()["entry"]
        found = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in entries]
        assert len(found) == len(set(found)) and len(found) >= 3, (query, found)


def test_an_audit_event_search_includes_the_entities_as_the_caller_sees_them(world):
    """`AuditEvent?...&_include=AuditEvent:entity`: each event's entity, its current version, from the event's
    partition or the shared one (an event about a shared resource is in the admin-only tenant), never another
    tenant's resource of the same type and id, nor a deleted one."""
    clients = world["clients"]
    a, b, admin = clients["facility-A"], clients["facility-B"], clients["admin"]
    a.put_resource({"resourceType": "Patient", "id": "twin", "gender": "female"})
    a.put_resource({"resourceType": "Patient", "id": "twin", "gender": "female", "active": True})
    b.put_resource({"resourceType": "Patient", "id": "twin", "gender": "male"})
    a.put_resource({"resourceType": "Patient", "id": "gone", "gender": "female"})
    assert a.delete("/Patient/gone").status_code == 200
    b.put_resource({"resourceType": "Patient", "id": "gone", "gender": "male"})
    admin.put_resource({"resourceType": "Organization", "id": "shared-rs", "name": "RS Bersama"})

    def search(client, query: str, include: str = "AuditEvent:entity") -> tuple[list[str], list[tuple]]:
        answer = client.get(f"/AuditEvent?{query}&_sort=date&_include={include}")
        assert answer.status_code == 200, answer.get_json()
        entries = answer.get_json().get("entry", [])
        events = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]
        included = sorted((r["resourceType"], r["id"], r["meta"]["versionId"], r.get("gender") or r.get("name"))
                          for e in entries if e["search"]["mode"] == "include" for r in [e["resource"]])
        return events, included

    a_events, included = search(a, "entity=Patient/twin")
    assert len(a_events) == 2 and included == [("Patient", "twin", "2", "female")]
    b_events, included = search(b, "entity=Patient/twin")
    assert len(b_events) == 1 and included == [("Patient", "twin", "1", "male")]
    events, included = search(admin, "entity=Patient/twin")
    assert sorted(events) == sorted(a_events + b_events)
    assert included == [("Patient", "twin", "1", "male"), ("Patient", "twin", "2", "female")]

    gone_events, included = search(a, "entity=Patient/gone")
    assert len(gone_events) == 2 and included == []  # A's is deleted; B's is not A's
    assert search(admin, f"_id={','.join(gone_events)}") == (gone_events, [])  # A's events: not B's patient
    assert search(admin, "entity=Patient/gone")[1] == [("Patient", "gone", "1", "male")]  # B's event's own

    shared_events, included = search(admin, "entity=Organization/shared-rs")
    assert len(shared_events) == 1 and included == [("Organization", "shared-rs", "1", "RS Bersama")]
    assert search(a, "entity=Organization/shared-rs") == ([], [])  # the admin-only event is not A's to see
    assert search(a, "entity=Patient/twin", "AuditEvent:entity:Organization") == (a_events, [])
    assert search(a, "entity=Patient/twin", "AuditEvent:entity:Patient")[1] == [("Patient", "twin", "2", "female")]

    refused = a.get("/AuditEvent?entity=Patient/twin&_include=AuditEvent:agent")
    assert refused.status_code == 400 and refused.get_json()["issue"][0]["details"]["text"] == \
        "_include=AuditEvent:agent is not supported (AuditEvent:entity is)"
