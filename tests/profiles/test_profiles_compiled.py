"""The compiled profile check (issue 17): it only ever says "conforms" where jsonschema finds no error, so the report
of `check_profiles` / `check_schema` is jsonschema's, with or without it."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from satusehat_examples import example
from test_profiles_check import SHAPES

from fhirclaim.fhir import profiles
from fhirclaim.fhir.profiles import check_profiles, check_schema, profiles_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _corpus() -> list[dict]:
    """Every resource of the example transactions, and the SATUSEHAT shapes: what hospitals send."""
    resources = [entry["resource"] for path in sorted(EXAMPLES.glob("*/transaction.json"))
                 for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]]
    return resources + [example(name) for name in sorted(SHAPES)]


CORPUS = _corpus()
HELD = [resource for resource in CORPUS if profiles_for(resource)]  # those a profile applies to


def _jsonschema_report(resource: dict) -> list:
    """`check_profiles` as it was before the compiled check: every applicable profile walked by jsonschema."""
    issues = list(profiles._meta_profile_issues(resource))
    for profile in profiles_for(resource):
        for failure in profile.validator.iter_errors(resource):
            issues.extend(profiles._issues(failure, resource["resourceType"], profile.name))
    return list(dict.fromkeys(issues))


def test_every_profile_is_compiled_but_the_claims_whose_min_and_max_contains_fastjsonschema_lacks():
    compiled = {p.name: profiles._compilable(p.validator.schema) for p in profiles.load_profiles().values()}
    assert compiled == {"JknAccount": True, "JknChargeItem": True, "JknClaim": False, "JknClaimResponse": True,
                        "JknCoverage": True, "JknInvoice": True}
    claim = profiles.load_profiles()[profiles.FHIRCLAIM_PROFILE_BASE + "jkn-claim"]
    assert claim.conforms(example("reactclient_claim-bpjs")) is False  # jsonschema decides every Claim
    assert check_profiles(example("reactclient_claim-bpjs")) == []


def test_the_compiled_check_passes_what_hospitals_send():
    held = [(resource, profile) for resource in CORPUS for profile in profiles_for(resource)]
    assert len(held) >= 40
    for resource, profile in held:
        assert profile.validator.is_valid(resource)
        assert profile.conforms(resource) is profiles._compilable(profile.validator.schema)


def test_purification_decision_schema_is_compiled_too():
    decision = example("purification-decision")
    assert profiles._schema_conforms("PurificationDecision")(decision) is True
    broken = {**decision, "status": 7}
    assert profiles._schema_conforms("PurificationDecision")(broken) is False
    assert check_schema("PurificationDecision", broken)  # jsonschema's report


def test_a_keyword_it_does_not_implement_leaves_every_value_to_jsonschema():
    for schema in ({"type": "array", "contains": {"const": 1}, "maxContains": 1},
                   {"unevaluatedProperties": False}, {"$ref": "#/$defs/a", "$defs": {"a": {}}},
                   {"properties": {"a": {"format": "date"}}}, {"type": "array", "uniqueItems": True}):
        assert profiles._compilable(schema) is False
        assert profiles._compiled(schema)([1]) is False


def test_where_it_is_stricter_than_jsonschema_jsonschema_decides():
    """A pattern's `$` before a final newline passes jsonschema (Python's `re`), not the compiled check: the resource
    is then walked by jsonschema, which finds nothing."""
    validator = profiles._validator({"type": "string", "pattern": "^[123]$"})
    assert validator.is_valid("1\n") and profiles._compiled(validator.schema)("1\n") is False
    coverage = example("khanza_coverage-bpjs.contained")
    odd = copy.deepcopy(coverage)
    odd["class"][0]["value"] += "\n"
    assert check_profiles(odd) == _jsonschema_report(odd)


def test_numbers_bools_and_decimals_get_jsonschemas_verdicts():
    values = [2.0, Decimal("2.0"), Decimal("2"), True, False, 1, 1.0, 2.5, "1"]
    for schema in ({"type": "integer"}, {"type": "number"}, {"const": 1}, {"enum": [1, "a"]}, {"const": False},
                   {"minimum": 1}, {"maximum": 1}):
        validator = profiles._validator(schema)
        assert [profiles._compiled(schema)(v) for v in values] == [validator.is_valid(v) for v in values], schema


def test_a_value_it_cannot_compare_is_left_to_jsonschema_not_raised():
    assert profiles._compiled({"minimum": 0})(Decimal("NaN")) is False
    assert profiles._compiled({"minimum": 0})(Decimal("1")) is True


def test_a_default_is_never_filled_into_the_clients_resource():
    """fastjsonschema fills in defaults unless told not to: a schema naming one is not compiled at all, and no value
    is changed (a schema without one: checked as it is)."""
    with_default = {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}
    value = {}
    assert profiles._compilable(with_default) is False
    assert profiles._compiled(with_default)(value) is False and value == {}
    assert profiles._compiled({"type": "object", "properties": {"a": {"type": "string"}}})(value) is True
    assert value == {}


# --- any change to a resource: the report is jsonschema's -------------------------------------------------------


def _at(resource, path):
    """The container of `path`'s last step, in `resource`."""
    for step in path[:-1]:
        resource = resource[step]
    return resource


def test_the_report_is_jsonschemas_with_any_one_element_removed_or_repeated():
    """Every element of every held resource removed, and every array item repeated, one at a time (a price
    extension's part twice is what the Claim's maxContains forbids)."""
    changed = 0
    for resource in HELD:
        for path in [p for p in _paths(resource) if p and p[0] != "resourceType"]:
            for action in ("remove", "repeat") if isinstance(path[-1], int) else ("remove",):
                edited = copy.deepcopy(resource)
                parent = _at(edited, path)
                if action == "remove":
                    del parent[path[-1]]
                else:
                    parent.append(copy.deepcopy(parent[path[-1]]))
                assert check_profiles(edited) == _jsonschema_report(edited), (resource.get("id"), path, action)
                changed += 1
    assert changed > 3000

_VALUES = st.sampled_from([0, 1, -1, 2.0, Decimal("2.0"), Decimal("1.5"), True, False, "", "1", "1\n", "3", "x",
                           None, [], {}, [{}], {"system": "x"}, "https://sys-ids.kemkes.go.id/x",
                           "https://fhir.kemkes.go.id/r4/StructureDefinition/UnitPrice", "2024-05-01", "Claim/x"])


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@st.composite
def _changed(draw):
    resource = copy.deepcopy(draw(st.sampled_from(HELD)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(resource) if p and p[0] != "resourceType"]))
        parent = _at(resource, path)
        action = draw(st.sampled_from(["replace", "delete", "repeat"]))
        if action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(_VALUES))  # its own copy: a later step may change it in place
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = [copy.deepcopy(parent[path[-1]])]
    return resource


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_changed())
def test_the_report_of_any_changed_resource_is_jsonschemas(resource):
    assert check_profiles(resource) == _jsonschema_report(resource)
    for profile in profiles_for(resource):
        if profile.conforms(resource):
            assert profile.validator.is_valid(resource)
