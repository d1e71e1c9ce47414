"""sign_bundle → verify_bundle, the shape of what we produce, and other JWS implementations agreeing with us."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import jwt
import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk
from jwcrypto import jws as jwcrypto_jws
from signing_helpers import b64url, changed_one_byte, get_at, jws_parts, leaves, set_at, with_header

from fhirclaim.signing.canonical import DOCUMENT, canonical_bytes
from fhirclaim.signing.certificates import certificate_from_x5c
from fhirclaim.signing.jws import sign_bundle
from fhirclaim.signing.keys import SigningKeyStore
from fhirclaim.signing.verify import verify_bundle

SIGNER = {"reference": "Organization/rs-sehat", "display": "RS Sehat Selalu"}
WHEN = dt.datetime(2026, 11, 20, 17, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7)))
DOES_NOT_MATCH = "signature does not match content"


def test_round_trip(store, claim_bundle):
    signed = sign_bundle(claim_bundle, store.current, who=SIGNER)

    result = verify_bundle(signed)

    assert (result.valid, result.integrity) == (False, True)  # a lone self-signed key proves the content only
    assert (result.kid, result.alg) == (store.current.kid, store.alg)
    assert result.signer == "CN=fhirclaim Bundle signer"
    assert verify_bundle(signed, store.jwks()).integrity is True


def test_the_signature_element(rsa_store, claim_bundle):
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER, when=WHEN)

    assert signed["signature"] == {
        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.5",
                  "display": "Verification Signature"}],
        "when": "2026-11-20T10:30:05Z",
        "who": SIGNER,
        "targetFormat": "application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document",
        "sigFormat": "application/jose",
        "data": signed["signature"]["data"],
    }
    assert "signature" not in claim_bundle  # a copy was signed, the input is untouched
    assert {k: v for k, v in signed.items() if k != "signature"} == claim_bundle


def test_the_protected_header(rsa_store, claim_bundle):
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER, when=WHEN,
                         sig_type_code="1.2.840.10065.1.12.1.1")

    header, _, _ = jws_parts(signed)

    assert header == {
        "alg": "RS256", "kid": rsa_store.current.kid, "typ": "JOSE", "x5c": rsa_store.current.x5c,
        "sigT": "2026-11-20T10:30:05Z",
        "srCms": [{"commId": {"id": "urn:oid:1.2.840.10065.1.12.1.1", "desc": "Author's Signature"}}],
        "canon": DOCUMENT,
    }
    assert "b64" not in header and "crit" not in header  # as the HL7 vector: payload base64url in the input


def test_independent_implementations_accept_our_signature(store, claim_bundle):
    signed = sign_bundle(claim_bundle, store.current, who=SIGNER)
    header, header_b64, signature_b64 = jws_parts(signed)
    # The signed bytes as RFC 8785 itself defines them, not through our canonical_bytes.
    jcs = rfc8785.dumps({k: v for k, v in signed.items() if k not in ("id", "meta", "signature")})
    public_key = certificate_from_x5c(header["x5c"][0]).public_key()

    # 1. PyJWT: re-attach the detached payload (RFC 7515 Appendix F) and verify the complete JWS.
    public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    attached = f"{header_b64}.{b64url(jcs)}.{signature_b64}"
    assert jwt.api_jws.decode(attached, public_pem, algorithms=[store.alg]) == jcs

    # 2. No JOSE library at all: the RFC 7515 signing input checked with `cryptography`.
    signing_input = f"{header_b64}.{b64url(jcs)}".encode()
    raw = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(raw, signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public_key, ec.EllipticCurvePublicKey) and len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))


def test_one_byte_change_in_any_entry_breaks_it(rsa_store, claim_bundle):
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER)
    checked = 0
    for entry in signed["entry"]:
        for path in leaves(entry):
            original = get_at(entry, path)
            set_at(entry, path, changed_one_byte(original))
            result = verify_bundle(signed)
            set_at(entry, path, original)
            assert (result.valid, result.reason) == (False, DOES_NOT_MATCH), (entry["fullUrl"], path)
            checked += 1
    assert checked > 200  # every leaf of six full R4 examples
    assert verify_bundle(signed).integrity is True


def test_id_and_meta_are_not_signed(store, claim_bundle):
    signed = sign_bundle(claim_bundle, store.current, who=SIGNER)

    signed["id"] = "copied-to-another-server"
    signed["meta"] = {"versionId": "7", "lastUpdated": "2027-01-01T00:00:00Z"}
    assert verify_bundle(signed).integrity is True
    del signed["id"], signed["meta"]
    assert verify_bundle(signed).integrity is True


def test_entry_ids_and_metas_are_signed(rsa_store, claim_bundle):
    # #document leaves out the root Bundle's id and meta only; the resources' own stay covered.
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER)
    signed["entry"][0]["resource"]["meta"] = {"versionId": "2"}

    assert verify_bundle(signed).reason == DOES_NOT_MATCH


def test_key_order_and_whitespace_do_not_matter(store, claim_bundle):
    signed = sign_bundle(claim_bundle, store.current, who=SIGNER)
    reserialized = json.loads(json.dumps(signed, indent=3, sort_keys=True))
    reversed_keys = {key: signed[key] for key in reversed(list(signed))}

    assert verify_bundle(reserialized).integrity is True
    assert verify_bundle(reversed_keys).integrity is True
    assert canonical_bytes(reversed_keys) == canonical_bytes(claim_bundle)


def test_canonical_bytes_are_jcs_without_id_meta_signature():
    bundle = {"resourceType": "Bundle", "id": "x", "meta": {"versionId": "1"}, "signature": {"data": "…"},
              "type": "collection", "entry": [{"resource": {"resourceType": "Invoice", "totalNet": {
                  "value": Decimal("150000.00"), "currency": "IDR"}, "note": [{"text": "é ✓"}]}}]}

    assert canonical_bytes(bundle) == (
        b'{"entry":[{"resource":{"note":[{"text":"\xc3\xa9 \xe2\x9c\x93"}],"resourceType":"Invoice",'
        b'"totalNet":{"currency":"IDR","value":150000}}}],"resourceType":"Bundle","type":"collection"}')


def test_a_signature_made_before_a_rotation_still_verifies(tmp_path, claim_bundle):
    store = SigningKeyStore(tmp_path, alg="ES256")
    old = sign_bundle(claim_bundle, store.load_or_create(), who=SIGNER)
    store.rotate()
    new = sign_bundle(claim_bundle, store.current, who=SIGNER)

    assert jws_parts(old)[0]["kid"] != jws_parts(new)[0]["kid"]
    assert verify_bundle(old, store.jwks()).integrity is True
    assert verify_bundle(new, store.jwks()).integrity is True


def test_a_kid_unknown_to_the_jwks_is_named(rsa_store, ec_store, claim_bundle):
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER)

    result = verify_bundle(signed, ec_store.jwks())

    assert result.valid is False
    assert result.reason == f"unknown kid {rsa_store.current.kid!r}: not in the given JWKS"
    assert result.kid == rsa_store.current.kid


def test_a_kid_only_signature_is_resolved_in_the_jwks(ec_store, rsa_store, claim_bundle):
    signed = sign_bundle(claim_bundle, ec_store.current, who=SIGNER)
    header, _, _ = jws_parts(signed)
    del header["x5c"]
    _resign(signed, ec_store, header)

    assert verify_bundle(signed, ec_store.jwks()).integrity is True
    assert verify_bundle(signed).reason == (f"JWS header has no x5c and no JWKS was given to resolve kid "
                                            f"{ec_store.current.kid!r}")
    assert verify_bundle(signed, rsa_store.jwks()).reason.startswith("unknown kid")


def test_an_x5c_key_that_is_not_the_jwks_key_for_its_kid_is_refused(ec_store, claim_bundle, tmp_path):
    impostor = SigningKeyStore(tmp_path, alg="ES256")
    signed = sign_bundle(claim_bundle, impostor.load_or_create(), who=SIGNER)
    header, _, _ = jws_parts(signed)
    header["kid"] = ec_store.current.kid  # claims to be the published key, carries its own certificate
    _resign(signed, impostor, header)

    assert verify_bundle(signed).integrity is True  # alone, a self-signed x5c proves integrity only
    assert verify_bundle(signed, ec_store.jwks()).reason == (
        f"x5c key is not the key the JWKS holds for kid {ec_store.current.kid!r}")


def test_hmac_with_the_public_key_as_secret_is_refused(rsa_store, claim_bundle):
    # The classic alg-confusion forgery: HS256 keyed with the published RSA key.
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER)
    header, _, _ = jws_parts(signed)
    secret = json.dumps(rsa_store.jwks()["keys"][0]).encode()
    forged = jwcrypto_jws.JWS(canonical_bytes(signed))
    forged.add_signature(jwk.JWK(kty="oct", k=b64url(secret)), alg="HS256",
                         protected=json.dumps({**header, "alg": "HS256"}))
    forged.detach_payload()
    signed["signature"]["data"] = base64.b64encode(forged.serialize(compact=True).encode()).decode()

    assert verify_bundle(signed, rsa_store.jwks()).reason == "alg 'HS256' is not allowed (only RS256, ES256)"


def test_an_alg_the_key_cannot_make_is_named(rsa_store, claim_bundle):
    signed = sign_bundle(claim_bundle, rsa_store.current, who=SIGNER)
    header, _, _ = jws_parts(signed)
    with_header(signed, {**header, "alg": "ES256"})

    assert verify_bundle(signed).reason == "x5c certificate key does not fit alg ES256: ES256 needs a P-256 key"


def test_unencoded_payload_signatures_of_other_tools_verify(ec_store, claim_bundle):
    # RFC 7797 (b64: false, crit [b64]) is the other way to detach a payload; accept it from third parties.
    signed = sign_bundle(claim_bundle, ec_store.current, who=SIGNER)
    header, _, _ = jws_parts(signed)
    _resign(signed, ec_store, {**header, "b64": False, "crit": ["b64"]})

    assert verify_bundle(signed).integrity is True
    signed["entry"][1]["resource"]["status"] = "cancelled"
    assert verify_bundle(signed).reason == DOES_NOT_MATCH


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"when": dt.datetime(2026, 1, 1, 12, 0)}, "timezone-aware"),
    ({"sig_type_code": "1.2.3"}, "not an ASTM E1762 signature type"),
])
def test_bad_signing_requests_are_refused(rsa_store, claim_bundle, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sign_bundle(claim_bundle, rsa_store.current, who=SIGNER, **kwargs)


def test_only_a_bundle_is_signed(rsa_store):
    with pytest.raises(ValueError, match="only a Bundle"):
        sign_bundle({"resourceType": "Claim"}, rsa_store.current, who=SIGNER)


def _resign(bundle: dict, store: SigningKeyStore, header: dict) -> None:
    """Sign `bundle` again under a hand-made protected header (for headers sign_bundle does not make)."""
    payload = canonical_bytes(bundle)
    token = jwcrypto_jws.JWS(payload)
    token.add_signature(store.current.signing_jwk(), alg=header["alg"], protected=json.dumps(header))
    token.detach_payload()
    bundle["signature"]["data"] = base64.b64encode(token.serialize(compact=True).encode()).decode()
