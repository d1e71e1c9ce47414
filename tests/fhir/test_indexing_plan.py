"""`index_resource` plans each type's parameters once and skips paths whose first element a resource lacks
(issue 17): it must index exactly what evaluating every parameter's every path indexes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from fhirclaim.auth.audit import audit_event
from fhirclaim.fhir.indexing import IndexEntry, entries_for, index_resource
from fhirclaim.fhir.search_params import registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _every_path(resource: dict) -> list:
    params = registry().indexed(resource["resourceType"])
    return list(dict.fromkeys(e for p in params for e in entries_for(p, resource, "Asia/Jakarta")))


def _example_resources() -> list[dict]:
    found = []
    for path in sorted(EXAMPLES.glob("*/transaction.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        found += [{**entry["resource"], "id": entry["resource"].get("id", f"x{n}")}
                  for n, entry in enumerate(bundle["entry"])]
    return found


def _cases() -> list[dict]:
    audit = audit_event(interaction="update", who="facility:abc", outcome="0", description="update Claim/c/_history/2",
                        what="Claim/c/_history/2", address="10.0.0.1")
    choice = {"resourceType": "ChargeItem", "id": "ci", "status": "billable", "occurrenceDateTime": "2026-06-01",
              "code": {"coding": [{"system": "s", "code": "c"}]}, "subject": {"reference": "Patient/p"},
              "meta": {"tag": [{"system": "t", "code": "x"}], "profile": ["http://p"]}}
    return _example_resources() + [audit, choice]


@pytest.mark.parametrize("resource", _cases(), ids=lambda r: f"{r['resourceType']}/{r['id'] if 'id' in r else '-'}")
def test_the_plan_indexes_what_every_path_indexes(resource):
    assert index_resource(resource, "Asia/Jakarta") == _every_path(resource)


def test_a_choice_element_is_found_by_its_stem():
    charge = {"resourceType": "ChargeItem", "id": "ci", "status": "billable",
              "occurrencePeriod": {"start": "2026-06-01"}, "subject": {"reference": "Patient/p"}}
    assert [e.param for e in index_resource(charge) if e.kind == "date"] == ["occurrence"]


def test_a_claims_entries_as_the_extractors_make_them():
    claim = {"resourceType": "Claim", "id": "c", "status": "active", "use": "claim", "created": "2026-05-15",
             "meta": {"versionId": "1", "lastUpdated": "2026-12-04T22:39:41.591Z",
                      "tag": [{"system": "t", "code": "x"}]},
             "identifier": [{"system": "http://rs/claim", "value": "CLM-1"}],
             "patient": {"reference": "Patient/p"}, "provider": {"reference": "http://other/fhir/Organization/o"},
             "careTeam": [{"sequence": 1, "provider": {"reference": "Patient/p"}}],  # not a target type: no entry
             "priority": {"coding": [{"code": "normal"}]}, "total": {"value": 10, "currency": "IDR"}}
    assert index_resource(claim, "Asia/Jakarta") == [
        IndexEntry("_tag", "token", "t", "x"),
        IndexEntry("created", "date", low=datetime(2026, 5, 14, 17), high=datetime(2026, 5, 15, 17)),
        IndexEntry("identifier", "token", "http://rs/claim", "CLM-1"),
        IndexEntry("patient", "reference", code="p", text="Patient"),
        IndexEntry("priority", "token", None, "normal"),
        IndexEntry("provider", "reference", code="http://other/fhir/Organization/o", text="Organization"),
        IndexEntry("status", "token", None, "active"),
        IndexEntry("use", "token", None, "claim"),
    ]
    name = {"resourceType": "Patient", "id": "p", "name": [{"family": "Sánchez", "given": ["Ana"]}],
            "birthDate": "1990"}
    assert [e for e in index_resource(name) if e.kind == "string" and e.param == "family"] == [
        IndexEntry("family", "string", code="sanchez", text="Sánchez")]
