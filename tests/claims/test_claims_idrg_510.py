"""E-Klaim 5.10 coding: iDRG diagnoses and procedures (multiplicity, IM codes), INA-CBG overrides, code checks."""

from __future__ import annotations

import json

import pytest
from claims_cases import changed, icd10, inpatient_case

from fhirclaim.claims.mapping import MappingError, idrg_coding, inacbg_coding, mapping_issues, mapping_warnings

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD9 = "http://hl7.org/fhir/sid/icd-9-cm"
ICD10_IM = "https://fhirclaim.org/fhir/CodeSystem/icd-10-im"
ICD9_IM = "https://fhirclaim.org/fhir/CodeSystem/icd-9-cm-im"
MULTIPLICITY = "https://fhirclaim.org/fhir/StructureDefinition/procedure-multiplicity"


def _case(diagnosis=None, procedure=None, **claim_changes):
    ctx = inpatient_case()
    claim = json.loads(json.dumps(ctx.claim))
    if diagnosis is not None:
        claim["diagnosis"] = diagnosis
    if procedure is not None:
        claim["procedure"] = procedure
    claim.update(claim_changes)
    return changed(ctx, claim=claim)


def _proc(sequence, *codings, **extra):
    return {"sequence": sequence, "procedureCodeableConcept": {
        "coding": [{"system": s, "code": c} for s, c in codings]}, **extra}


def _diag(sequence, *codings, principal=False):
    entry = {"sequence": sequence, "diagnosisCodeableConcept": {"coding": [{"system": s, "code": c}
                                                                           for s, c in codings]}}
    if principal:
        entry["type"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                      "code": "principal"}]}]
    return entry


def test_plain_coding_goes_to_both_groupers_principal_first():
    ctx = inpatient_case()
    assert idrg_coding(ctx) == (["S72.0", "W19", "I10"], ["81.51", "88.38"])
    assert inacbg_coding(ctx) == (None, None)  # the import copies exactly these


def test_multiplicity_from_the_extension_the_item_quantity_and_repeated_codes():
    procedures = [_proc(1, (ICD9, "81.51")),
                  _proc(2, (ICD9, "8622"), extension=[{"url": MULTIPLICITY, "valuePositiveInt": 2}]),
                  _proc(3, (ICD9, "86.22")),  # a second operation: the code repeated (a "setting")
                  _proc(4, (ICD9, "86.28"))]
    items = [{"sequence": 1, "procedureSequence": [4], "quantity": {"value": 3},
              "productOrService": {"text": "debridement"}}]
    ctx = _case(procedure=procedures, item=items)
    assert idrg_coding(ctx)[1] == ["81.51", "86.22+2", "86.22", "86.28+3"]
    assert inacbg_coding(ctx)[1] is None  # the import drops the multiplicity, which INA-CBG does not know


@pytest.mark.parametrize("bad", [0, 1.5, "two"])
def test_a_bad_multiplicity_is_refused_with_its_path(bad):
    ctx = _case(procedure=[_proc(1, (ICD9, "86.22"), extension=[{"url": MULTIPLICITY, "valueInteger": bad}])])
    with pytest.raises(MappingError) as refused:
        idrg_coding(ctx)
    assert [i.expression for i in refused.value.issues] == [("Claim.procedure[0].extension[0]",)]


def test_im_coding_goes_to_idrg_and_the_plain_coding_beside_it_to_inacbg():
    ctx = _case(diagnosis=[_diag(1, (ICD10, "S71.0"), principal=True),
                           _diag(2, (ICD10_IM, "S87.9"), (ICD10, "S87.0")), _diag(3, (ICD10, "E11.9"))],
                procedure=[_proc(1, (ICD9, "81.51")), _proc(2, (ICD9, "86.28")),
                           _proc(3, (ICD9_IM, "91799"), (ICD9, "91.79"))])
    assert idrg_coding(ctx) == (["S71.0", "S87.9", "E11.9"], ["81.51", "86.28", "91.799"])
    assert inacbg_coding(ctx) == (["S71.0", "S87.0", "E11.9"], ["81.51", "86.28", "91.79"])  # manual §13/§14
    assert mapping_issues(ctx, protocol="5.10") == [] and mapping_warnings(ctx) == [
        w for w in mapping_warnings(ctx) if "tarif_rs" in w.text]


def test_an_im_only_secondary_code_is_left_out_of_inacbg_with_a_warning():
    ctx = _case(diagnosis=[_diag(1, (ICD10, "S71.0"), principal=True), _diag(2, (ICD10_IM, "S87.9"))],
                procedure=[_proc(1, (ICD9_IM, "91.799"))])
    assert idrg_coding(ctx) == (["S71.0", "S87.9"], ["91.799"])
    assert inacbg_coding(ctx) == (["S71.0"], [])
    warned = [(i.code, i.expression) for i in mapping_warnings(ctx) if "E2101" in i.text]
    assert warned == [("code-invalid", ("Claim.diagnosis[1].diagnosisCodeableConcept",)),
                      ("code-invalid", ("Claim.procedure[0].procedureCodeableConcept",))]


def test_an_im_only_principal_diagnosis_is_an_error():
    ctx = _case(diagnosis=[_diag(1, (ICD10_IM, "S87.9"), principal=True)])
    with pytest.raises(MappingError, match="principal diagnosis S87.9"):
        idrg_coding(ctx)


def test_an_im_code_that_is_also_icd10_needs_no_override():
    ctx = _case(diagnosis=[_diag(1, (ICD10_IM, "S71.0"), principal=True)])
    assert idrg_coding(ctx)[0] == ["S71.0"] and inacbg_coding(ctx)[0] is None


def test_malformed_codes_are_refused_with_the_coding_path():
    ctx = _case(diagnosis=[_diag(1, (ICD10, "72.0"), principal=True)], procedure=[_proc(1, (ICD9, "81-51"))])
    with pytest.raises(MappingError) as refused:
        idrg_coding(ctx)
    assert [(i.code, i.expression) for i in refused.value.issues if "shaped" in i.text] == [
        ("code-invalid", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code",)),
        ("code-invalid", ("Claim.procedure[0].procedureCodeableConcept.coding[0].code",))]


def test_a_code_outside_icd10_is_warned_as_possibly_im():
    ctx = _case(diagnosis=[_diag(1, (ICD10, "S72.0"), principal=True), _diag(2, (ICD10, "S87.9"))])
    assert idrg_coding(ctx)[0] == ["S72.0", "S87.9"]
    assert [i.code for i in mapping_warnings(ctx) if "S87.9" in i.text] == ["code-unknown"]


def test_no_diagnosis_and_an_uncoded_entry_are_refused():
    with pytest.raises(MappingError, match="No ICD-10 or ICD-10-IM diagnosis"):
        idrg_coding(_case(diagnosis=[]))
    with pytest.raises(MappingError) as refused:
        idrg_coding(_case(diagnosis=[icd10(1, "S72.0", "principal"), _diag(2, ("http://snomed.info/sct", "1"))]))
    assert refused.value.issues[0].expression == ("Claim.diagnosis[1]",)


def test_codes_from_referenced_conditions_and_procedures():
    condition = {"resourceType": "Condition", "id": "c1", "code": {"coding": [
        {"system": ICD10_IM, "code": "S87.9"}, {"system": ICD10, "code": "S87.0"}]}}
    procedure = {"resourceType": "Procedure", "id": "p1", "code": {"coding": [{"system": ICD9, "code": "86.22"}]}}
    ctx = _case(diagnosis=[icd10(1, "S72.0", "principal"), {"sequence": 2, "diagnosisReference": {
                    "reference": "Condition/c1"}}],
                procedure=[{"sequence": 1, "procedureReference": {"reference": "Procedure/p1"},
                            "extension": [{"url": MULTIPLICITY, "valuePositiveInt": 3}]}])
    ctx = changed(ctx, conditions={"Condition/c1": condition}, procedures={"Procedure/p1": procedure})
    assert idrg_coding(ctx) == (["S72.0", "S87.9"], ["86.22+3"])
    assert inacbg_coding(ctx) == (["S72.0", "S87.0"], None)
