"""`index_resource` plans each type's parameters once and skips paths whose first element a resource lacks
(issue 17): it must index exactly what evaluating every parameter's every path indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirclaim.auth.audit import audit_event
from fhirclaim.fhir.indexing import entries_for, index_resource
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
