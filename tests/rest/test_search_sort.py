"""`_sort` on every declared search parameter, by its indexed values (issue 13: any non-date `_sort` was a 500):
strings by their normalised text, tokens by code, dates by range, quantities and numbers by value, references by
target id; `-` descending; an unknown parameter a 400."""

from __future__ import annotations

import json

import pytest

from testkit import REPO_ROOT, outcome_text

PATIENTS = [
    {"resourceType": "Patient", "id": "p-citra", "name": [{"family": "Citra"}], "gender": "female",
     "birthDate": "1990-05-01"},
    {"resourceType": "Patient", "id": "p-adi", "name": [{"family": "adi"}], "gender": "male", "birthDate": "1985"},
    {"resourceType": "Patient", "id": "p-budi", "name": [{"family": "Budi"}, {"family": "Zaenal"}],
     "gender": "other", "birthDate": "2001-12-24"},
]


@pytest.fixture
def patients(fhir):
    for patient in PATIENTS:
        fhir.put_resource(patient)
    return fhir


def _ids(fhir, query: str, resource_type: str = "Patient") -> list[str]:
    response = fhir.get(f"/{resource_type}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry["resource"]["id"] for entry in response.get_json().get("entry", [])
            if entry["search"]["mode"] == "match"]


@pytest.mark.parametrize(("query", "expected"), [
    ("_sort=family", ["p-adi", "p-budi", "p-citra"]),  # case-insensitive (normalised)
    ("_sort=-family", ["p-budi", "p-citra", "p-adi"]),  # descending by each one's largest name: Zaenal first
    ("_sort=gender", ["p-citra", "p-adi", "p-budi"]),  # token codes: female < male < other
    ("_sort=-gender", ["p-budi", "p-adi", "p-citra"]),
    ("_sort=birthdate", ["p-adi", "p-citra", "p-budi"]),
    ("_sort=-birthdate", ["p-budi", "p-citra", "p-adi"]),
    ("_sort=_id", ["p-adi", "p-budi", "p-citra"]),
    ("_sort=gender,family&gender=female,male", ["p-citra", "p-adi"]),
])
def test_sort_by_indexed_values(patients, query, expected):
    assert _ids(patients, query) == expected


def test_sort_by_quantity_and_reference(fhir):
    bundle = json.loads((REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json").read_text())
    assert fhir.post("", bundle).status_code == 200
    assert _ids(fhir, "_sort=-quantity,_id", "ChargeItem") == ["ex1-ci-4", "ex1-ci-1", "ex1-ci-2", "ex1-ci-3"]
    assert _ids(fhir, "_sort=quantity,-_id", "ChargeItem") == ["ex1-ci-3", "ex1-ci-2", "ex1-ci-1", "ex1-ci-4"]
    assert _ids(fhir, "_sort=code", "ChargeItem") == ["ex1-ci-2", "ex1-ci-1", "ex1-ci-3", "ex1-ci-4"]
    assert _ids(fhir, "_sort=patient,_id", "ChargeItem")[0] == "ex1-ci-1"


def test_sort_on_an_unknown_parameter_is_a_400(fhir):
    response = fhir.get("/Patient?_sort=colour")
    assert response.status_code == 400
    assert "Unknown sort parameter 'colour'" in outcome_text(response)
