"""E-Klaim 5.10 tarif_rs: the billed total split over the 18 categories by the claim's ChargeItems."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from claims_cases import changed, inpatient_case

from fhirclaim.claims.claim_context import by_reference
from fhirclaim.claims.mapping import MappingError, mapping_warnings, to_set_claim_data
from fhirclaim.claims.tariff_breakdown import tariff_breakdown

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KPTL = "http://terminology.kemkes.go.id/CodeSystem/kptl"
TOTAL_PRICE = "https://fhir.kemkes.go.id/r4/StructureDefinition/totalPrice"
UNIT_PRICE = "https://fhir.kemkes.go.id/r4/StructureDefinition/unitPrice"
CATEGORY_EXT = "https://fhirclaim.org/fhir/StructureDefinition/eklaim-tariff-category"


def _example_charge_items(case):
    bundle = json.loads((EXAMPLES / case / "transaction.json").read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ChargeItem"]


def _item(id_, code, total=None, system=KPTL, status="billable", **extra):
    item = {"resourceType": "ChargeItem", "id": id_, "status": status,
            "code": {"coding": [{"system": system, "code": code}]}, "quantity": {"value": 1}, "extension": []}
    if total is not None:
        item["extension"].append({"url": TOTAL_PRICE, "valueMoney": {"value": total, "currency": "IDR"}})
    item.update(extra)
    return item


def test_hip_replacement_example_split_by_the_table():
    split = tariff_breakdown(_example_charge_items("02-hip-replacement-special-cmg"), Decimal(42830000))
    assert {k: v for k, v in split.amounts.items() if v} == {
        "konsultasi": 50000, "prosedur_bedah": 28350000, "alkes": 12000000, "kamar": 2250000, "obat": 30000,
        "radiologi": 150000}  # the X-ray's own eklaim-tariff-category extension
    assert len(split.amounts) == 18 and sum(split.amounts.values()) == 42830000
    assert split.issues == []


@pytest.mark.parametrize("case", ["01-outpatient-visit", "03-class-upgrade", "04-newborn", "05-precheck-rejected"])
def test_every_example_case_is_placed_without_guessing(case):
    bundle = json.loads((EXAMPLES / case / "transaction.json").read_text(encoding="utf-8"))
    total = next(e["resource"]["total"]["value"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    split = tariff_breakdown(_example_charge_items(case), Decimal(total))
    assert split.issues == [] and sum(split.amounts.values()) == total


def test_an_unmapped_item_goes_to_the_default_category_with_a_warning_naming_it():
    split = tariff_breakdown([_item("ci-1", "30601", 70000), _item("ci-x", "LOCAL-99", 30000)], Decimal(100000))
    assert (split.amounts["laboratorium"], split.amounts["prosedur_non_bedah"]) == (70000, 30000)
    assert [(i.severity, i.code) for i in split.issues] == [("warning", "code-unknown")]
    assert "ChargeItem/ci-x" in split.issues[0].text and "prosedur_non_bedah" in split.issues[0].text


def test_the_items_own_category_extension_wins_and_a_bad_one_is_warned():
    chosen = _item("ci-1", "30601", 70000)
    chosen["extension"].append({"url": CATEGORY_EXT, "valueCoding": {"code": "penunjang"}})
    bad = _item("ci-2", "RI-K2", 20000)
    bad["extension"].append({"url": CATEGORY_EXT, "valueCoding": {"code": "kantin"}})
    split = tariff_breakdown([chosen, bad], Decimal(90000))
    assert (split.amounts["penunjang"], split.amounts["laboratorium"], split.amounts["kamar"]) == (70000, 0, 20000)
    assert ["'kantin'" in i.text for i in split.issues] == [True]


def test_price_from_override_or_unit_price_times_quantity_and_skipped_statuses():
    override = _item("a", "30601", priceOverride={"value": 45000, "currency": "IDR"})
    unit = _item("b", "93001019", system="http://sys-ids.kemkes.go.id/kfa", quantity={"value": 3},
                 extension=[{"url": UNIT_PRICE, "valueMoney": {"value": 1500.5, "currency": "IDR"}}])
    void = _item("c", "30601", 999999, status="entered-in-error")
    planned = _item("d", "30601", 999999, status="not-billable")
    split = tariff_breakdown([override, unit, void, planned], Decimal("49501.5"))
    assert (split.amounts["laboratorium"], split.amounts["obat"]) == (45000, 4502)  # 4501.5 rounds half up
    assert sum(split.amounts.values()) == 49502 and split.issues == []


def test_rounding_keeps_the_total_exact():
    items = [_item("a", "30601", 1000.4), _item("b", "RI-K2", 2000.4), _item("c", "RAD-THX", 0.4)]
    split = tariff_breakdown(items, Decimal("3001.2"))  # each rounds down; the rupiah lost goes to the largest
    assert (split.amounts["laboratorium"], split.amounts["kamar"], split.amounts["radiologi"]) == (1000, 2001, 0)
    assert sum(split.amounts.values()) == 3001


def test_rest_of_the_billed_total_goes_to_the_default_category():
    split = tariff_breakdown([_item("ci-1", "30601", 70000)], Decimal(100000))
    assert (split.amounts["laboratorium"], split.amounts["prosedur_non_bedah"]) == (70000, 30000)
    assert "Rp 30000" in split.issues[0].text


def test_blood_bags_counted_from_blood_service_items():
    blood = _item("bl", "14891.MD021.PC002", 900000, quantity={"value": 3})
    split = tariff_breakdown([blood], Decimal(900000))
    assert (split.amounts["pelayanan_darah"], split.blood_bags) == (900000, 3)
    ctx = changed(inpatient_case(), charge_items={"ChargeItem/bl": blood})
    claim = {**ctx.claim, "total": {"value": 900000, "currency": "IDR"}}
    assert to_set_claim_data(changed(ctx, claim=claim), protocol="5.10")["kantong_darah"] == 3


def test_claim_mapping_uses_the_context_charge_items_and_refuses_more_than_billed():
    items = by_reference([_item("a", "RI-K2", 3000000), _item("b", "30601", 500000), None])
    assert list(items) == ["ChargeItem/a", "ChargeItem/b"]
    data = to_set_claim_data(changed(inpatient_case(), charge_items=items), protocol="5.10")
    assert (data["tarif_rs"]["kamar"], data["tarif_rs"]["laboratorium"]) == ("3000000", "500000")
    assert sum(int(v) for v in data["tarif_rs"].values()) == 3500000
    too_much = {**items, "ChargeItem/c": _item("c", "30601", 1)}
    with pytest.raises(MappingError, match="more than the billed total"):
        to_set_claim_data(changed(inpatient_case(), charge_items=too_much), protocol="5.10")


def test_no_charge_items_known_puts_the_whole_total_under_the_default_with_a_warning():
    ctx = inpatient_case()
    data = to_set_claim_data(ctx, protocol="5.10")
    assert data["tarif_rs"]["prosedur_non_bedah"] == "3500000"
    assert any("not known" in i.text for i in mapping_warnings(ctx))
