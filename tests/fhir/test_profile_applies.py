"""A profile's appliesWhen is decided once per distinct part of a resource it reads (issue 17): the remembered
verdict is always the schema's own on the whole resource."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from fhirclaim.fhir import profiles

KEMKES = "https://sys-ids.kemkes.go.id/claim/10000004"
CLAIM = {"resourceType": "Claim", "status": "active", "use": "claim",
         "identifier": [{"system": "http://hospital.example/claim", "value": "CLM-1"}],
         "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c"}}]}


def _variants():
    kemkes = copy.deepcopy(CLAIM)
    kemkes["identifier"].append({"system": KEMKES, "value": "x"})
    by_insurance = copy.deepcopy(CLAIM)
    by_insurance["insurance"][0]["identifier"] = {"system": "https://sys-ids.kemkes.go.id/sep", "value": "S"}
    by_extension = {**CLAIM, "extension": [{"url": "https://fhir.kemkes.go.id/r4/StructureDefinition/x"}]}
    by_category = {**CLAIM, "supportingInfo": [{"sequence": 1, "category": {"coding": [
        {"system": "https://terminology.kemkes.go.id/CodeSystem/y", "code": "z"}]}}]}
    odd = [{**CLAIM, "identifier": {"system": KEMKES}},  # an object where an array is expected
           {**CLAIM, "identifier": [{"system": 7}]},
           {**CLAIM, "identifier": [{"system": True}, {"system": KEMKES}]},
           {**CLAIM, "identifier": [{"system": Decimal("1.5")}]},
           {**CLAIM, "identifier": [None, "text", [KEMKES]]},
           {**CLAIM, "insurance": [{"identifier": [{"system": KEMKES}]}]},
           {**CLAIM, "insurance": "none"},
           {key: value for key, value in CLAIM.items() if key != "identifier"}]
    return [CLAIM, kemkes, by_insurance, by_extension, by_category, *odd]


@pytest.mark.parametrize("resource", _variants())
def test_the_remembered_verdict_is_the_schemas_on_the_whole_resource(resource):
    claim_profile = profiles.load_profiles()[profiles.FHIRCLAIM_PROFILE_BASE + "jkn-claim"]
    expected = claim_profile.applies_when.is_valid(resource)
    assert claim_profile.applies_to(resource) is expected
    assert claim_profile.applies_to(copy.deepcopy(resource)) is expected  # answered from what it remembered


def test_the_kemkes_shapes_apply_and_a_generic_claim_does_not():
    verdicts = [bool(profiles.profiles_for(r)) for r in _variants()[:5]]
    assert verdicts == [False, True, True, True, True]


def test_a_keyword_it_cannot_prune_for_keeps_the_value_whole():
    assert profiles._reads({"additionalProperties": False}) is None
    reads = profiles._reads({"properties": {"a": {"const": {"b": 1}}, "c": {"patternProperties": {"x": {}}}}})
    assert reads is not None and reads.properties == {"a": None, "c": None}
    pruned = profiles._pruned({"a": {"b": 1, "d": 2}, "c": {"x": 1}, "e": 3}, reads)
    assert pruned == {"a": {"b": 1, "d": 2}, "c": {"x": 1}}


def test_values_python_holds_equal_are_remembered_apart():
    """The memo's key is the pruned part's repr (issue 17): True, 1, Decimal('1') and '1' each keep their own verdict
    however often and in whatever order they come, a Decimal included."""
    schema = {"properties": {"x": {"type": "boolean"}}, "required": ["x"]}
    profile = profiles.Profile(url="u", name="n", resource_type="Claim", description="", validator=None,
                               applies_when=profiles.Draft202012Validator(schema),
                               applies_reads=profiles._reads(schema))
    values = [True, 1, Decimal("1"), "1", 1.0, False, 0, None, [True]]
    for _ in range(2):
        assert [profile.applies_to({"x": value, "y": "ignored"}) for value in values] == [
            True, False, False, False, False, True, False, False, False]
