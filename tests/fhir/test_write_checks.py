"""The cheap write checks answer as before (issue 17): money digits found at any depth, bindings by type."""

from __future__ import annotations

from decimal import Decimal

from fhirclaim.fhir import validation
from fhirclaim.fhir.money import money_issues


def test_a_long_money_value_is_found_at_any_depth_with_its_path():
    claim = {"resourceType": "Claim", "total": {"value": 3500000, "currency": "IDR"},
             "item": [{"sequence": 1, "net": {"value": Decimal("12345678.123456789")}},
                      {"sequence": 2, "detail": [{"unitPrice": {"value": 1234567890123456}}]}]}
    assert [i.expression for i in money_issues(claim)] == [("Claim.item[0].net.value",),
                                                           ("Claim.item[1].detail[0].unitPrice.value",)]
    assert money_issues({"resourceType": "Claim", "total": {"value": Decimal("3500000.50"), "currency": "IDR"},
                         "item": [{"net": {"value": 10}}], "quantity": {"value": 1234567890123456}}) == []


def test_required_bindings_are_checked_by_type():
    assert validation.binding_issues("Patient", {"resourceType": "Patient", "gender": "female"}) == []
    issues = validation.binding_issues("Patient", {"resourceType": "Patient", "gender": "robot"})
    assert len(issues) == 1 and "not a code of" in issues[0].text
    assert validation.binding_issues("Basic", {"resourceType": "Basic", "gender": "robot"}) == []


def test_a_whole_number_counts_its_digits_but_the_trailing_zeros():
    """An int is counted without a Decimal (issue 17), as a Decimal of it would be: 16 digits but trailing zeros."""
    def total(value):
        return money_issues({"resourceType": "Claim", "total": {"value": value, "currency": "IDR"}})

    assert [total(v) for v in (0, -3_500_000, 10**30, 1234567890123450000)] == [[], [], [], []]
    assert [i.expression for i in total(1234567890123456)] == [("Claim.total.value",)]
    assert [i.expression for i in total(-1234567890123456000)] == [("Claim.total.value",)]
    assert "16 significant digits" in total(1234567890123456)[0].text
