"""verify_bundle against the third-party HL7 vector: it verifies, and every kind of damage is named."""

from __future__ import annotations

import base64
import json

import pytest
from jwcrypto import jwk
from signing_helpers import b64url, changed_one_byte, get_at, jws_parts, leaves, set_at, with_header

from fhirclaim.signing.certificates import certificate_from_x5c
from fhirclaim.signing.verify import verify_bundle

DOES_NOT_MATCH = "signature does not match content"
HL7_SUBJECT = "OU=IG Publisher,L=Ann Arbor,CN=hl7.org,O=HL7,ST=Missouri,C=us"


def test_reference_vector_verifies(vector):
    result = verify_bundle(vector, integrity_only=True)

    assert result.valid is True
    assert "the signer is unproven" in result.reason
    assert result.alg == "RS256"
    assert result.kid is None  # the HL7 vector names its key by x5c only
    assert result.signer == HL7_SUBJECT
    assert "2025-07-01T07:59:50Z" in result.reason


def test_vector_verifies_whatever_the_key_order_and_whitespace(vector):
    reordered = json.loads(json.dumps(_reverse_keys(vector), indent=7))

    assert list(reordered) != list(vector)
    assert verify_bundle(reordered).integrity is True


def test_one_byte_change_anywhere_in_the_entry_breaks_it(vector):
    (entry,) = vector["entry"]
    paths = list(leaves(entry))
    assert len(paths) >= 8  # fullUrl, id, text.status, text.div, status, code.text, value, resourceType
    for path in paths:
        original = get_at(entry, path)
        set_at(entry, path, changed_one_byte(original))
        result = verify_bundle(vector)
        set_at(entry, path, original)

        assert (result.valid, result.reason) == (False, DOES_NOT_MATCH), path
    assert verify_bundle(vector).integrity is True  # every change was undone: the loop tested what it claims


@pytest.mark.parametrize("path", [("identifier", "value"), ("type",), ("timestamp",), ("link", 0, "url"),
                                  ("id",)])
def test_a_change_to_the_bundle_itself_breaks_it(vector, path):
    # The vector uses …/canonicalization/json, which signs Bundle.id too (unlike #document).
    set_at(vector, path, changed_one_byte(get_at(vector, path)))

    assert verify_bundle(vector).reason == DOES_NOT_MATCH


def test_an_added_or_removed_element_breaks_it(vector):
    vector["entry"][0]["resource"]["valueQuantity"]["unit"] = "mg"
    assert verify_bundle(vector).reason == DOES_NOT_MATCH
    del vector["entry"][0]["resource"]["valueQuantity"]["unit"]
    del vector["entry"][0]["resource"]["text"]
    assert verify_bundle(vector).reason == DOES_NOT_MATCH
    vector["entry"].append({"fullUrl": "urn:uuid:extra", "resource": {"resourceType": "Basic"}})
    assert verify_bundle(vector).reason == DOES_NOT_MATCH


@pytest.mark.parametrize(("change", "reason"), [
    (lambda b: b.pop("signature"), "no signature"),
    (lambda b: b.update(signature=[b["signature"]]), "signature is not a JSON object"),
    (lambda b: b["signature"].update(sigFormat="application/pkcs7-signature"), "not 'application/jose'"),
    (lambda b: b["signature"].pop("data"), "signature.data is missing"),
    (lambda b: b["signature"].update(data="not base64!"), "signature.data is not base64"),
    (lambda b: b["signature"].update(data=b["signature"]["data"][:-3] + "=A="), "signature.data is not base64"),
    (lambda b: b["signature"].update(data=base64.b64encode(b"just-text").decode()), "not a compact JWS"),
    (lambda b: b["signature"].update(data=base64.b64encode(b"e30.cGF5bG9hZA.c2ln").decode()),
     "JWS payload is not detached"),
    (lambda b: b["signature"].update(data=base64.b64encode(b"bm90IGpzb24..c2ln").decode()), "JWS header not JSON"),
    (lambda b: b["signature"].update(when="2025-07-01T08:00:00Z"),
     "JWS header sigT '2025-07-01T07:59:50Z' does not match signature.when '2025-07-01T08:00:00Z'"),
    (lambda b: b["signature"].update(when="yesterday"), "signature.when 'yesterday' is not an instant"),
    (lambda b: b["signature"]["type"][0].update(code="1.2.840.10065.1.12.1.5"), "srCms"),
    (lambda b: b["signature"].update(targetFormat="application/fhir+json;canonicalization="
                                                   "http://hl7.org/fhir/canonicalization/json#static"),
     "unsupported canonicalization"),
    (lambda b: b["signature"].update(targetFormat="application/fhir+xml;canonicalization="
                                                   "http://hl7.org/fhir/canonicalization/xml"),
     "is not application/fhir+json"),
    (lambda b: b["signature"].update(targetFormat="application/fhir+json"), "names no canonicalization"),
    (lambda b: b.update(resourceType="Observation"), "not a Bundle"),
])
def test_damage_to_the_signature_is_named(vector, change, reason):
    change(vector)

    result = verify_bundle(vector)

    assert result.valid is False
    assert reason in result.reason


@pytest.mark.parametrize("not_a_bundle", [None, [], "Bundle", 42, {"resourceType": "Bundle"}])
def test_anything_at_all_gets_an_answer(not_a_bundle):
    result = verify_bundle(not_a_bundle)  # type: ignore[arg-type]

    assert result.valid is False
    assert result.reason in ("not a Bundle", "no signature")


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", "PS256"])
def test_only_rs256_and_es256_are_accepted(vector, alg):
    header, _, _ = jws_parts(vector)
    with_header(vector, {**header, "alg": alg})

    result = verify_bundle(vector)

    assert result.valid is False
    assert result.reason == f"alg {alg!r} is not allowed (only RS256, ES256)"


def test_an_empty_signature_with_alg_none_is_refused(vector):
    compact = f"{b64url(json.dumps({'alg': 'none'}).encode())}.."
    vector["signature"]["data"] = base64.b64encode(compact.encode()).decode()

    assert verify_bundle(vector).reason == "alg 'none' is not allowed (only RS256, ES256)"


def test_a_header_change_breaks_the_signature(vector):
    header, _, _ = jws_parts(vector)
    with_header(vector, {**header, "typ": "JWT"})  # the protected header is signed too

    assert verify_bundle(vector).reason == DOES_NOT_MATCH


def test_the_header_canon_must_agree_with_target_format(vector):
    header, _, _ = jws_parts(vector)
    with_header(vector, {**header, "canon": "http://hl7.org/fhir/canonicalization/json#document"})

    assert verify_bundle(vector).reason == (
        "JWS header canon 'http://hl7.org/fhir/canonicalization/json#document' does not match signature.targetFormat "
        "'application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json'")


def test_without_target_format_the_header_canon_decides(vector):
    del vector["signature"]["targetFormat"]
    assert verify_bundle(vector).integrity is True

    header, _, _ = jws_parts(vector)
    del header["canon"]
    with_header(vector, header)
    assert verify_bundle(vector).reason == "signature.targetFormat is missing: the canonicalization is unknown"


def test_an_unknown_critical_extension_is_refused(vector):
    header, _, _ = jws_parts(vector)
    with_header(vector, {**header, "crit": ["exp"], "exp": 1})

    assert "names extensions this verifier does not understand" in verify_bundle(vector).reason


def test_x5c_that_is_not_a_certificate_is_named(vector):
    header, _, _ = jws_parts(vector)
    with_header(vector, {**header, "x5c": ["bm90IGEgY2VydA=="]})
    assert verify_bundle(vector).reason == "x5c[0] is not a base64 DER certificate"

    with_header(vector, {**header, "x5c": "MIID"})
    assert verify_bundle(vector).reason == "JWS header x5c is not a list of base64 certificates"

    del header["x5c"]
    with_header(vector, header)
    assert verify_bundle(vector).reason == "JWS header has neither x5c nor kid"


def test_the_vector_keeps_its_integrity_but_its_signer_is_not_ours(vector):
    result = verify_bundle(vector)

    assert (result.valid, result.integrity) == (False, True)
    assert result.reason == "no trust anchor is configured, so no signer can be proven"
    assert [(f.check, f.ok) for f in result.findings] == [("integrity", True), ("trust", False), ("identity", False)]


def test_with_a_jwks_the_x5c_key_must_be_in_it(vector, rsa_store):
    assert verify_bundle(vector, rsa_store.jwks()).reason == "the x5c key is not in the given JWKS"

    header, _, _ = jws_parts(vector)
    hl7_key = jwk.JWK.from_pyca(certificate_from_x5c(header["x5c"][0]).public_key())
    trusted = {"keys": [*rsa_store.jwks()["keys"], {**hl7_key.export_public(as_dict=True), "kid": "hl7"}]}
    assert verify_bundle(vector, trusted).integrity is True


@pytest.mark.parametrize("jwks", [{"keys": "none"}, {"keys": [{"kty": "RSA", "n": 5}]}, {"nokeys": []}, [1]])
def test_a_broken_jwks_is_named(vector, jwks):
    result = verify_bundle(vector, jwks)

    assert result.valid is False
    assert result.reason.startswith("JWKS is not")


def test_operation_outcome_says_the_result(vector):
    integrity = verify_bundle(vector, integrity_only=True).to_operation_outcome()
    assert integrity["resourceType"] == "OperationOutcome"
    assert integrity["issue"][0]["severity"] == "warning"
    assert integrity["issue"][0]["details"]["text"].startswith(f"integrity only: RS256 signature by {HL7_SUBJECT}")

    vector["entry"][0]["resource"]["status"] = "amended"
    invalid = verify_bundle(vector).to_operation_outcome()
    assert invalid["issue"][:2] == [
        {"severity": "error", "code": "invalid", "details": {"text": "signature invalid: signature does not match "
                                                                     "content"}, "expression": ["Bundle.signature"]},
        {"severity": "error", "code": "invalid", "details": {"text": "integrity: signature does not match content"},
         "expression": ["Bundle.signature.data"]}]


def _reverse_keys(value):
    if isinstance(value, dict):
        return {key: _reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(item) for item in value]
    return value


@pytest.mark.parametrize(("name", "reason"), [
    ("bundle-sig-2.json", "JWS payload is not detached (the payload part must be empty)"),
    ("bundle-signed-nob64.json", "signature.data is not base64 of an ASCII compact JWS"),
])
def test_the_vectors_the_hl7_validator_refuses_are_refused_too(fixtures_dir, name, reason):
    bundle = json.loads((fixtures_dir / "fhir" / "signature-vectors" / name).read_text(encoding="utf-8"))

    for result in (verify_bundle(bundle), verify_bundle(bundle, integrity_only=True)):
        assert (result.valid, result.integrity, result.reason) == (False, False, reason)
