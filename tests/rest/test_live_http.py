"""Over real HTTP: an outside FHIR client (fhirpy) drives every stored type, and concurrent updates with one
If-Match let exactly one writer win."""

from __future__ import annotations

import threading

import pytest
import requests
from fhirpy import SyncFHIRClient

from testkit import bearer

ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# A minimal valid instance of every type architecture §3 lists (references filled in by the test).
MINIMAL = {
    "Organization": {"name": "RSUD Sehat Sentosa"},
    "Patient": {"gender": "female", "birthDate": "1980-02-03"},
    "Practitioner": {"name": [{"text": "dr. Rudy"}]},
    "PractitionerRole": {"practitioner": {"reference": "Practitioner/{Practitioner}"}},
    "Location": {"name": "Bangsal Melati", "status": "active"},
    "Encounter": {"status": "finished", "class": {"system": ACT, "code": "IMP"},
                  "subject": {"reference": "Patient/{Patient}"}},
    "Condition": {"subject": {"reference": "Patient/{Patient}"},
                  "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A09"}]}},
    "Procedure": {"status": "completed", "subject": {"reference": "Patient/{Patient}"}},
    "Observation": {"status": "final", "code": {"text": "Berat badan lahir"},
                    "subject": {"reference": "Patient/{Patient}"}},
    "MedicationRequest": {"status": "active", "intent": "order", "subject": {"reference": "Patient/{Patient}"},
                          "medicationCodeableConcept": {"text": "Paracetamol 500 mg"}},
    "MedicationDispense": {"status": "completed", "medicationCodeableConcept": {"text": "Paracetamol 500 mg"}},
    "DiagnosticReport": {"status": "final", "code": {"text": "Hematologi rutin"}},
    "Composition": {"status": "final", "type": {"text": "Resume medis"}, "date": "2026-11-05",
                    "author": [{"reference": "Practitioner/{Practitioner}"}], "title": "Resume medis"},
    "DocumentReference": {"status": "current", "content": [{"attachment": {"contentType": "application/pdf",
                                                                          "url": "http://hospital.example/d.pdf"}}]},
    "Coverage": {"status": "active", "beneficiary": {"reference": "Patient/{Patient}"},
                 "payor": [{"reference": "Organization/{Organization}"}]},
    "Account": {"status": "active", "subject": [{"reference": "Patient/{Patient}"}]},
    "ChargeItem": {"status": "billable", "code": {"text": "Pendaftaran"},
                   "subject": {"reference": "Patient/{Patient}"}},
    "Invoice": {"status": "issued", "subject": {"reference": "Patient/{Patient}"}},
    "Claim": {"status": "active", "use": "claim", "created": "2026-11-05",
              "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                   "code": "institutional"}]},
              "patient": {"reference": "Patient/{Patient}"}, "provider": {"reference": "Organization/{Organization}"},
              "priority": {"coding": [{"code": "normal"}]},
              "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/{Coverage}"}}]},
    "ClaimResponse": {"status": "active", "use": "claim", "outcome": "complete", "created": "2026-11-06",
                      "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                           "code": "institutional"}]},
                      "patient": {"reference": "Patient/{Patient}"},
                      "insurer": {"reference": "Organization/{Organization}"}},
    "CoverageEligibilityRequest": {"status": "active", "purpose": ["validation"], "created": "2026-11-01",
                                   "patient": {"reference": "Patient/{Patient}"},
                                   "insurer": {"reference": "Organization/{Organization}"}},
    "CoverageEligibilityResponse": {"status": "active", "purpose": ["validation"], "created": "2026-11-01",
                                    "outcome": "complete", "patient": {"reference": "Patient/{Patient}"},
                                    "request": {"reference": "CoverageEligibilityRequest/{CoverageEligibilityRequest}"},
                                    "insurer": {"reference": "Organization/{Organization}"}},
    "Subscription": {"status": "off", "reason": "test", "criteria": "Claim?status=active",
                     "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook"}},
    "Bundle": {"type": "collection", "entry": []},
    "Provenance": {"recorded": "2026-11-05T10:00:00Z", "target": [{"reference": "Patient/{Patient}"}],
                   "agent": [{"who": {"reference": "Practitioner/{Practitioner}"}}]},
}


def _fill(template, ids):
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, ids) for v in template]
    if isinstance(template, str) and "{" in template:
        return template.format(**ids)
    return template


def test_every_type_through_an_outside_fhir_client(live_server, runtime):
    from fhirclaim.fhir.validation import STORED_TYPES

    # the server writes the audit trail itself; a PurificationDecision answers BPJS-K (tests/bpjs)
    assert set(MINIMAL) == set(STORED_TYPES) - {"AuditEvent", "PurificationDecision"}
    auth = {"Authorization": f"Bearer {bearer(runtime)}"}
    client = SyncFHIRClient(live_server, extra_headers={"Accept": "application/fhir+json", **auth})
    ids: dict[str, str] = {}
    for resource_type, template in MINIMAL.items():  # dict order puts targets before the resources that use them
        resource = client.resource(resource_type, **_fill(template, ids))
        if resource_type == "Bundle":  # fhirpy posts any Bundle to the base as a transaction; store it plainly
            resource["id"] = requests.post(f"{live_server}/Bundle", json=resource.serialize(), headers=auth,
                                           timeout=10).json()["id"]
        else:
            resource.save()
        ids[resource_type] = resource.id
        found = client.resources(resource_type).search(_id=resource.id).fetch()
        assert [r.id for r in found] == [resource.id], resource_type
        read = client.reference(resource_type, resource.id).to_resource()
        assert read["meta"]["versionId"] == "1"
        read["language"] = "id"
        read.save()
        assert client.reference(resource_type, resource.id).to_resource()["meta"]["versionId"] == "2"
        patched = client.patch(resource_type, resource.id, language="en")
        assert patched["language"] == "en" and patched["meta"]["versionId"] == "3"
    audit = client.resources("AuditEvent").search(entity=f"Patient/{ids['Patient']}").fetch_all()
    assert {e["subtype"][0]["code"] for e in audit} == {"create", "update", "patch"}
    refused = requests.post(f"{live_server}/AuditEvent", json=dict(audit[0]), headers=auth, timeout=10)
    assert refused.status_code == 403
    for resource_type in reversed(list(MINIMAL)):  # referrers first, so integrity allows each delete
        client.delete(resource_type, ids[resource_type])
        response = requests.get(f"{live_server}/{resource_type}/{ids[resource_type]}", headers=auth, timeout=10)
        assert response.status_code == 410, resource_type


@pytest.mark.parametrize("writers", [8])
def test_concurrent_updates_with_one_if_match_exactly_one_wins(live_server, runtime, writers):
    auth = {"Authorization": f"Bearer {bearer(runtime)}"}
    created = requests.post(f"{live_server}/Patient", json={"resourceType": "Patient", "gender": "female"},
                            headers=auth, timeout=10).json()
    url = f"{live_server}/Patient/{created['id']}"
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def write(n: int) -> None:
        body = {**created, "name": [{"text": f"writer {n}"}]}
        barrier.wait()
        response = requests.put(url, json=body, headers={"If-Match": 'W/"1"', **auth}, timeout=30)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * (writers - 1)
    final = requests.get(url, headers=auth, timeout=10).json()
    assert final["meta"]["versionId"] == "2"
    history = requests.get(f"{url}/_history", headers=auth, timeout=10).json()
    assert history["total"] == 2
