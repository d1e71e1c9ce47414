"""check_profiles: SATUSEHAT shapes conform, every removed element is named, generic HL7 examples are left alone."""

from __future__ import annotations

import copy
import json

import pytest
from satusehat_examples import SEP, example, r4_example, r4_examples

from fhirclaim.fhir.profiles import check_profiles, list_profiles, profiles_for

BASE = "https://fhirclaim.org/fhir/StructureDefinition/"

SHAPES = {
    "reactclient_claim-bpjs": "jkn-claim",
    "khanza_coverage-bpjs.contained": "jkn-coverage",
    "khanza_account": "jkn-account",
    "khanza_chargeitem-tindakan-kptl": "jkn-chargeitem",
    "khanza_chargeitem-obat-kfa": "jkn-chargeitem",
    "khanza_invoice": "jkn-invoice",
    "reconstructed_claimresponse-purifikasi": "jkn-claimresponse",
    "reconstructed_claimresponse-verifikasi": "jkn-claimresponse",
}


def test_list_profiles_names_the_six_financing_types():
    listed = {p["resourceType"]: p["url"] for p in list_profiles()}
    assert listed == {
        "Account": BASE + "jkn-account", "ChargeItem": BASE + "jkn-chargeitem", "Claim": BASE + "jkn-claim",
        "ClaimResponse": BASE + "jkn-claimresponse", "Coverage": BASE + "jkn-coverage", "Invoice": BASE + "jkn-invoice",
    }
    assert all(p["description"] and p["name"] for p in list_profiles())


@pytest.mark.parametrize("name,profile", sorted(SHAPES.items()))
def test_satusehat_shape_is_held_to_its_profile_and_conforms(name, profile):
    resource = example(name)
    assert [p.url for p in profiles_for(resource)] == [BASE + profile]
    assert check_profiles(resource) == []


def test_claim_with_only_the_go_mapper_defaults_lacks_diagnosis():
    issues = check_profiles(example("aditya_claim-mapper-defaults"))
    assert [(i.code, i.expression) for i in issues] == [("required", ("Claim.diagnosis",))]


@pytest.mark.parametrize("path", sorted(p.name for p in r4_examples()), ids=lambda p: p)
def test_official_r4_examples_are_not_held_to_jkn_profiles(path):
    resource = r4_example(path.removesuffix(".json"))
    assert profiles_for(resource) == []
    assert check_profiles(resource) == []


def _without(resource, path):
    """A copy of `resource` with the element at `path` (keys and list indexes) removed."""
    copy_ = copy.deepcopy(resource)
    target = copy_
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copy_


CI, CR = "khanza_chargeitem-tindakan-kptl", "reconstructed_claimresponse-verifikasi"
REMOVED = [
    ("reactclient_claim-bpjs", ("patient",), "Claim.patient", "required"),
    ("reactclient_claim-bpjs", ("provider",), "Claim.provider", "required"),
    ("reactclient_claim-bpjs", ("insurer",), "Claim.insurer", "required"),
    ("reactclient_claim-bpjs", ("created",), "Claim.created", "required"),
    ("reactclient_claim-bpjs", ("priority",), "Claim.priority", "required"),
    ("reactclient_claim-bpjs", ("diagnosis",), "Claim.diagnosis", "required"),
    ("reactclient_claim-bpjs", ("insurance", 0, "coverage"), "Claim.insurance[0].coverage", "required"),
    ("reactclient_claim-bpjs", ("insurance", 0, "focal"), "Claim.insurance[0].focal", "required"),
    ("reactclient_claim-bpjs", ("supportingInfo", 2, "category"), "Claim.supportingInfo[2].category", "required"),
    ("reactclient_claim-bpjs", ("diagnosis", 0, "sequence"), "Claim.diagnosis[0].sequence", "required"),
    ("reactclient_claim-bpjs", ("total", "currency"), "Claim.total.currency", "required"),
    ("reactclient_claim-bpjs", ("extension", 0, "extension", 1), "Claim.extension[0].extension", "required"),
    ("khanza_coverage-bpjs.contained", ("beneficiary",), "Coverage.beneficiary", "required"),
    ("khanza_coverage-bpjs.contained", ("payor",), "Coverage.payor", "required"),
    ("khanza_coverage-bpjs.contained", ("status",), "Coverage.status", "required"),
    ("khanza_coverage-bpjs.contained", ("class", 1, "value"), "Coverage.class[1].value", "required"),
    ("khanza_account", ("servicePeriod", "end"), "Account.servicePeriod.end", "required"),
    ("khanza_account", ("subject",), "Account.subject", "required"),
    ("khanza_account", ("status",), "Account.status", "required"),
    ("khanza_chargeitem-tindakan-kptl", ("code",), "ChargeItem.code", "required"),
    ("khanza_chargeitem-tindakan-kptl", ("subject",), "ChargeItem.subject", "required"),
    ("khanza_chargeitem-tindakan-kptl", ("extension", 1), "ChargeItem.extension", "required"),
    (CI, ("extension", 0, "valueMoney"), "ChargeItem.extension[0].valueMoney", "required"),
    ("khanza_chargeitem-tindakan-kptl", ("performer", 0, "actor"), "ChargeItem.performer[0].actor", "required"),
    ("khanza_invoice", ("subject",), "Invoice.subject", "required"),
    ("khanza_invoice", ("date",), "Invoice.date", "required"),
    ("khanza_invoice", ("totalNet",), "Invoice.totalNet", "required"),
    ("khanza_invoice", ("lineItem", 0, "chargeItemReference"), "Invoice.lineItem[0]", "required"),
    ("reconstructed_claimresponse-verifikasi", ("outcome",), "ClaimResponse.outcome", "required"),
    ("reconstructed_claimresponse-verifikasi", ("insurer",), "ClaimResponse.insurer", "required"),
    ("reconstructed_claimresponse-verifikasi", ("total", 1, "amount"), "ClaimResponse.total[1].amount", "required"),
    (CR, ("item", 0, "adjudication"), "ClaimResponse.item[0].adjudication", "required"),
    ("reconstructed_claimresponse-purifikasi", ("patient",), "ClaimResponse.patient", "required"),
]


@pytest.mark.parametrize("name,path,expression,code", REMOVED, ids=lambda v: v if isinstance(v, str) else None)
def test_removing_a_required_element_is_reported_at_its_path(name, path, expression, code):
    issues = check_profiles(_without(example(name), path))
    assert [(i.severity, i.code, i.expression) for i in issues] == [("error", code, (expression,))]
    assert expression in issues[0].text


def test_sep_missing_everywhere_is_one_issue_pointing_at_insurance_identifier():
    claim = example("reactclient_claim-bpjs")
    claim["identifier"] = claim["identifier"][:1]  # keep only the batch number
    del claim["insurance"][0]["identifier"]
    issues = check_profiles(claim)
    assert [(i.code, i.expression) for i in issues] == [("required", ("Claim.insurance[0].identifier",))]
    assert "SEP" in issues[0].text


def test_sep_in_claim_identifier_alone_is_enough():
    claim = example("reactclient_claim-bpjs")
    del claim["insurance"][0]["identifier"]
    assert check_profiles(claim) == []


def test_every_violation_is_reported_not_only_the_first():
    claim = example("reactclient_claim-bpjs")
    del claim["patient"], claim["provider"]
    claim["use"] = "preauthorization"
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["system"] = "http://snomed.info/sct"
    claim["total"]["currency"] = "USD"
    found = {(i.code, i.expression) for i in check_profiles(claim)}
    assert found == {
        ("required", ("Claim.patient",)),
        ("required", ("Claim.provider",)),
        ("code-invalid", ("Claim.use",)),
        ("code-invalid", ("Claim.diagnosis[0]",)),
        ("code-invalid", ("Claim.total.currency",)),
    }


def test_unknown_category_code_of_our_code_system_is_code_invalid():
    claim = example("reactclient_claim-bpjs")
    claim["supportingInfo"].append({
        "sequence": 5,
        "category": {"coding": [{"system": "https://fhirclaim.org/fhir/CodeSystem/claim-information-category",
                                 "code": "icu-weeks"}]},
        "valueQuantity": {"value": 2},
    })
    issues = check_profiles(claim)
    assert [(i.code, i.expression) for i in issues] == [
        ("code-invalid", ("Claim.supportingInfo[4].category.coding[0].code",))]
    assert "'icu-weeks'" in issues[0].text


def test_wrong_type_is_a_structure_issue():
    claim = example("reactclient_claim-bpjs")
    claim["insurance"][0]["sequence"] = "one"
    issues = check_profiles(claim)
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Claim.insurance[0].sequence",))]


def test_decimal_quantity_and_foreign_currency_on_a_chargeitem():
    item = example("khanza_chargeitem-obat-kfa")
    item["quantity"]["value"] = 1.5
    item["extension"][1]["valueMoney"]["currency"] = "USD"
    found = {(i.code, i.expression) for i in check_profiles(item)}
    assert found == {("structure", ("ChargeItem.quantity.value",)),
                     ("code-invalid", ("ChargeItem.extension[1].valueMoney.currency",))}


def test_capitalised_price_extension_urls_are_accepted():
    item = example("khanza_chargeitem-tindakan-kptl")
    for extension in item["extension"]:
        extension["url"] = extension["url"].replace("/unitPrice", "/UnitPrice").replace("/totalPrice", "/TotalPrice")
    assert check_profiles(item) == []


def test_coverage_class_must_be_1_2_or_3_and_card_number_is_required():
    coverage = example("khanza_coverage-bpjs.contained")
    coverage["class"][1]["value"] = "VIP"
    del coverage["subscriberId"]
    coverage["identifier"][0]["system"] = f"http://sys-ids.kemkes.go.id/patient/{SEP}"
    found = {(i.code, i.expression) for i in check_profiles(coverage)}
    assert found == {("value", ("Coverage.class[1].value",)), ("required", ("Coverage.subscriberId",))}


def test_draft_invoice_needs_no_total_yet():
    invoice = example("khanza_invoice")
    invoice["status"] = "draft"
    del invoice["totalNet"]
    assert check_profiles(invoice) == []


def test_meta_profile_holds_a_generic_resource_to_the_profile():
    claim = r4_example("Claim-100150")
    claim["meta"] = {"profile": [BASE + "jkn-claim"]}
    expressions = {i.expression[0] for i in check_profiles(claim)}
    assert "Claim.insurance[0].identifier" in expressions  # no SEP
    assert "Claim.diagnosis[0]" in expressions  # not ICD-10


def test_meta_profile_with_version_suffix_is_understood():
    claim = example("reactclient_claim-bpjs")
    claim["meta"] = {"profile": [BASE + "jkn-claim|1.0.0"]}
    assert check_profiles(claim) == []


def test_unknown_fhirclaim_profile_is_an_error_and_foreign_profiles_are_ignored():
    account = r4_example("Account-example")
    account["meta"] = {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/whatever", BASE + "jkn-acount"]}
    issues = check_profiles(account)
    assert [(i.code, i.expression) for i in issues] == [("not-supported", ("Account.meta.profile[1]",))]
    assert "jkn-acount" in issues[0].text


def test_profile_of_another_resource_type_is_a_structure_error():
    account = example("khanza_account")
    account["meta"] = {"profile": [BASE + "jkn-claim"]}
    issues = check_profiles(account)
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Account.meta.profile[0]",))]


def test_issue_renders_as_operation_outcome_issue():
    issue = check_profiles(_without(example("khanza_account"), ("subject",)))[0]
    rendered = issue.to_fhir()
    assert rendered["severity"] == "error" and rendered["code"] == "required"
    assert rendered["expression"] == ["Account.subject"]
    assert json.dumps(rendered)  # plain JSON
