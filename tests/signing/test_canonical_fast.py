"""canonical_bytes writes with the C JSON encoder where it can (issue 17): the bytes are `rfc8785`'s, always.

A property over FHIR-like JSON values — element-name keys and any keys, every character (controls, DEL, U+2028,
astral, lone surrogates), money as Decimal and float, integers and floats at and beyond JCS's limits — holds
`jcs_bytes` to `rfc8785.dumps` byte for byte, or to the same refusal.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirclaim.signing import canonical
from fhirclaim.signing.canonical import DOCUMENT, CanonicalizationError, canonical_bytes, jcs_bytes

PROPERTY = settings(max_examples=200, derandomize=True, database=None, deadline=None)

ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)  # surrogates (Cs) included
FHIR_TEXT = st.text(st.sampled_from("aZ09 -.:/_\"\\\b\f\n\r\t\x00\x1f\x7f\u00e9\u2028\ue000\uffff\U0001f600"),
                    max_size=12)
KEYS = st.one_of(st.sampled_from(["resourceType", "id", "value", "system", "code", "_birthDate", "amount",
                                  "valueDecimal", "a", "A", "aa", "é", "\ue000", "\U0001f600"]), ANY_TEXT)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e17, max_value=1e17),
    st.decimals(places=2, min_value=-10**12, max_value=10**12),
    st.decimals(allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e-7, 1e16, 9999999999999998.0, 2.0**53, 2.0**53 - 1, 1e21,
                     1500000.0, 0.1, 5e-324, 1.7976931348623157e308, Decimal("12500.50"), Decimal("-0")]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, FHIR_TEXT, ANY_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)


# rfc8785 refuses a key holding a lone surrogate with UnicodeEncodeError (its sort key), other things it cannot
# write with CanonicalizationError; ours must refuse the same way.
REFUSALS = (rfc8785.CanonicalizationError, UnicodeEncodeError)


def reference(value):
    """What `rfc8785` writes for `value` (Decimal read as float), or its refusal."""
    try:
        return rfc8785.dumps(canonical._as_json_values(value))
    except REFUSALS as refused:
        return type(refused)


def ours(value):
    try:
        return jcs_bytes(value)
    except REFUSALS as refused:
        return type(refused)


@PROPERTY
@given(VALUES)
def test_the_bytes_are_rfc8785s(value):
    assert ours(value) == reference(value)


@PROPERTY
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_objects_of_any_keys_are_rfc8785s(value):
    assert ours(value) == reference(value)


@pytest.mark.parametrize("value", [1e-5, 1e16, 1e21, 2.0**53, 9007199254740993, -(2**53), {"é": 1},
                                   {"\U0001f600": 1, "\ue000": 2}, math.inf])
def test_values_the_c_encoder_would_write_otherwise_go_to_rfc8785(value):
    with pytest.raises(canonical._NotPlain):
        canonical._plain(value)
    assert ours(value) == reference(value)


def test_a_lone_surrogate_is_refused_as_rfc8785_refuses_it():
    assert ours({"text": "a\ud800"}) == reference({"text": "a\ud800"}) == rfc8785.CanonicalizationError


def test_a_claim_bundle_takes_the_fast_path(claim_bundle, monkeypatch):
    expected = canonical_bytes(claim_bundle, DOCUMENT)

    def refused(_):
        raise AssertionError("rfc8785 was used for a plain Bundle")

    monkeypatch.setattr(rfc8785, "dumps", refused)
    claim_bundle["entry"][0]["resource"]["total"] = {"value": Decimal("1500000.00"), "currency": "IDR"}
    with_money = canonical_bytes(claim_bundle, DOCUMENT)
    assert expected != with_money and b'"total":{"currency":"IDR","value":1500000}' in with_money
    assert json.loads(with_money)["entry"][0]["resource"]["total"]["value"] == 1500000


def test_what_jcs_cannot_write_is_still_refused():
    with pytest.raises(CanonicalizationError):
        canonical_bytes({"resourceType": "Bundle", "entry": [{"n": math.nan}]})
    with pytest.raises(CanonicalizationError):
        canonical_bytes({"resourceType": "Bundle", "entry": [{"n": 2**60}]})
