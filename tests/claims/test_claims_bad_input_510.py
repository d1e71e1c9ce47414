"""Bad shapes anywhere the 5.10 mapping reads: a MappingError or a payload, never another exception."""

from __future__ import annotations

import copy

from claims_cases import changed, inpatient_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirclaim.claims.mapping import MappingError, idrg_coding, inacbg_coding, mapping_warnings, to_set_claim_data

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=6)
    | st.sampled_from(["8480-6", "85354-9", "9272-6", "32406-1", "http://loinc.org", "96.72", "S87.9", "91.799"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["code", "coding", "system", "value", "valueInteger", "valueQuantity", "component", "status",
                         "extension", "url", "valueCoding", "valuePositiveInt", "quantity", "timingPeriod", "start",
                         "end", "effectiveDateTime", "procedureCodeableConcept", "sequence", "category",
                         "priceOverride", "valueMoney", "type", "diagnosisCodeableConcept", "procedureReference"]),
        inner, max_size=4),
    max_leaves=12)
BASE = inpatient_case()


def _run(ctx):
    try:
        data = to_set_claim_data(ctx, protocol="5.10")
        assert "diagnosa" not in data
    except MappingError as refused:
        assert refused.issues
    try:
        idrg_coding(ctx)
    except MappingError as refused:
        assert refused.issues
    inacbg_coding(ctx)
    mapping_warnings(ctx)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation=JSON, item=JSON, procedure=JSON, info=JSON)
def test_odd_shapes_never_raise_anything_but_mapping_error(observation, item, procedure, info):
    claim = copy.deepcopy(BASE.claim)
    claim["procedure"] = [*claim["procedure"], procedure]
    claim["supportingInfo"] = [*claim["supportingInfo"], info]
    _run(changed(BASE, claim=claim, observations={"Observation/x": observation},
                 charge_items={"ChargeItem/y": item}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admit_source=JSON, coverage_type=JSON, identifier=JSON, insurance=JSON, item=JSON, diagnosis=JSON)
def test_odd_encounter_coverage_and_claim_elements(admit_source, coverage_type, identifier, insurance, item,
                                                   diagnosis):
    """Elements of resources the REST layer validated (objects where R4 has objects), odd inside."""
    claim = copy.deepcopy(BASE.claim)
    claim["insurance"] = [*claim["insurance"], insurance]
    claim["item"] = [item]
    claim["diagnosis"] = [*claim["diagnosis"], diagnosis]
    hospitalization = {**BASE.encounter["hospitalization"], "admitSource": admit_source}
    encounter = {**BASE.encounter, "hospitalization": hospitalization}
    odd_identifier = {"system": "https://fhir.kemkes.go.id/id/nik", "value": identifier, "type": coverage_type}
    coverage = {**BASE.coverage, "type": coverage_type, "identifier": [odd_identifier]}
    _run(changed(BASE, claim=claim, encounter=encounter, coverage=coverage))
