"""The other published files of profiles/: PurificationDecision's JSON Schema and this server's CodeSystems."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from satusehat_examples import example

from fhirclaim.fhir.profiles import check_schema, schema

PROFILES = resources.files("fhirclaim.profiles")


def _code_systems():
    return sorted(e.name for e in PROFILES.iterdir() if e.name.startswith("CodeSystem-"))


def _load(name):
    return json.loads(PROFILES.joinpath(name).read_text(encoding="utf-8"))


def test_purification_decision_example_conforms():
    assert schema("PurificationDecision")["title"] == "PurificationDecision"
    assert check_schema("PurificationDecision", example("purification-decision")) == []


def test_purification_decision_without_status_and_created_names_both():
    decision = example("purification-decision")
    del decision["status"], decision["created"]
    issues = check_schema("PurificationDecision", decision)
    assert {(i.code, i.expression) for i in issues} == {
        ("required", ("PurificationDecision.status",)), ("required", ("PurificationDecision.created",))}


@pytest.mark.parametrize("change,expression,code", [
    (lambda d: d.update(verdict="Lanjut"), "PurificationDecision", "structure"),
    (lambda d: d.update(created="27/07/2026"), "PurificationDecision.created", "value"),
    (lambda d: d["status"].update(coding=[]), "PurificationDecision.status.coding", "required"),
    (lambda d: d["claimResponse"].pop("reference"), "PurificationDecision.claimResponse.reference", "required"),
    (lambda d: d.update(resourceType="Claim"), "PurificationDecision.resourceType", "code-invalid"),
])
def test_purification_decision_bad_input(change, expression, code):
    decision = example("purification-decision")
    change(decision)
    issues = check_schema("PurificationDecision", decision)
    assert [(i.code, i.expression) for i in issues] == [(code, (expression,))]


@pytest.mark.parametrize("name", _code_systems())
def test_code_systems_are_valid_r4_under_our_canonical_base(name):
    resource = _load(name)
    parsed = CodeSystem.model_validate(resource)
    assert str(parsed.url).startswith("https://fhirclaim.org/fhir/CodeSystem/")
    assert name == f"CodeSystem-{resource['id']}.json" and resource["url"].endswith("/" + resource["id"])
    codes = [c["code"] for c in resource["concept"]]
    assert len(codes) == len(set(codes)) and all(c.get("display") for c in resource["concept"])


def test_claim_profile_lists_exactly_the_published_information_categories():
    published = {c["code"] for c in _load("CodeSystem-claim-information-category.json")["concept"]}
    text = json.dumps(_load("Claim-jkn.profile.json"))
    enum = next(e for e in _find_enums(json.loads(text)) if "icu-days" in e)
    assert set(enum) == published


def _find_enums(node):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node["enum"]
        for value in node.values():
            yield from _find_enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _find_enums(value)


def test_eklaim_error_code_system_covers_the_manual_table():
    codes = {c["code"] for c in _load("CodeSystem-eklaim-error.json")["concept"]}
    assert {f"E20{n:02d}" for n in range(1, 29)} <= codes  # E2001-E2028 of the INA-CBG v5 manual
    e2006 = next(c for c in _load("CodeSystem-eklaim-error.json")["concept"] if c["code"] == "E2006")
    assert any("Personnel" in p.get("valueString", "") for p in e2006["property"])


def test_inacbg_error_groups_cover_seed_groups():
    codes = {c["code"] for c in _load("CodeSystem-inacbg-error-group.json")["concept"]}
    assert {"X-0-01-X", "X-0-13-X", "X-0-22-X", "X-0-94-X", "X-0-95-X", "X-0-96-X", "X-0-99-X", "X-0-00-X"} <= codes


def test_conformance_resources_are_the_published_code_systems():
    from fhirclaim.fhir.profiles import conformance_resources

    published = conformance_resources()
    assert sorted(f"CodeSystem-{r['id']}.json" for r in published) == _code_systems()
    published[0]["concept"].clear()  # callers get copies
    assert conformance_resources()[0]["concept"]
