"""Who signed: per-hospital certificates from the installation's CA, and a verifier that trusts only its anchors.

The attacks of issue 12 in the library: a Bundle changed and re-signed with a key outside the trust anchors, a
swapped `Signature.who`, an expired or revoked certificate, one hospital signing as another. Each fails, and the
finding says which of the three questions (integrity, trust, identity) failed and why.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from signing_helpers import changed_one_byte, get_at, leaves, set_at

from fhirclaim.signing import HospitalSigning, SignerIdentity, SigningKeyError, SigningKeyStore, TrustPolicy
from fhirclaim.signing.jws import sign_bundle
from fhirclaim.signing.verify import verify_bundle

A, B = "10000004", "10000005"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture
def signing(tmp_path) -> HospitalSigning:
    signing = HospitalSigning(tmp_path / "signing", alg="ES256")
    signing.load()
    return signing


@pytest.fixture
def genuine(signing, claim_bundle) -> dict:
    return signing.sign(claim_bundle, {"reference": f"Organization/{A}", "display": "RSUD Sehat Sentosa"})


def _checks(result) -> list[tuple[str, bool]]:
    return [(finding.check, finding.ok) for finding in result.findings]


def test_a_genuine_bundle_is_valid_on_all_three_questions(signing, genuine):
    result = verify_bundle(genuine, trust=signing.trust_policy())

    assert result.valid, result.reason
    assert _checks(result) == [("integrity", True), ("trust", True), ("identity", True)]
    assert result.signer == f"2.5.4.97={A},CN=Organization {A}"
    assert genuine["signature"]["who"] == {
        "reference": f"Organization/{A}", "display": "RSUD Sehat Sentosa",
        "identifier": {"system": "http://sys-ids.kemkes.go.id/organization", "value": A}}


def test_offline_the_published_anchors_are_enough(signing, genuine):
    offline = TrustPolicy.from_pem([signing.trust_anchors_pem()], [signing.authority.crl_pem()])

    assert verify_bundle(genuine, trust=offline).valid


def test_a_forged_total_re_signed_with_a_fresh_self_signed_key_fails(signing, genuine, tmp_path):
    forged = copy.deepcopy(genuine)
    claim = forged["entry"][0]["resource"]
    claim["total"] = {"value": 99_999_999, "currency": "IDR"}
    attacker = SigningKeyStore(tmp_path / "attacker", alg="RS256", subject="fhirclaim Bundle signer")
    forged = sign_bundle(forged, attacker.load_or_create(), who=genuine["signature"]["who"])

    result = verify_bundle(forged, trust=signing.trust_policy())

    assert result.valid is False
    assert _checks(result) == [("integrity", True), ("trust", False), ("identity", False)]
    assert "does not chain to a trust anchor" in result.reason


def test_a_key_certified_by_another_installation_is_not_trusted(signing, genuine, tmp_path):
    other = HospitalSigning(tmp_path / "elsewhere", alg="ES256")
    other.load()
    forged = other.sign(genuine, {"reference": f"Organization/{A}"})  # the same hospital id, another CA

    result = verify_bundle(forged, trust=signing.trust_policy())

    assert (result.valid, _checks(result)[1]) == (False, ("trust", False))
    assert verify_bundle(forged, trust=other.trust_policy()).valid  # its own anchors do trust it


def test_a_swapped_who_fails_the_identity_question(signing, genuine):
    swapped = copy.deepcopy(genuine)
    swapped["signature"]["who"] = {"reference": f"Organization/{B}", "display": "RS Lain"}

    result = verify_bundle(swapped, trust=signing.trust_policy())

    assert _checks(result) == [("integrity", True), ("trust", True), ("identity", False)]
    assert result.reason == (f"Signature.who names http://sys-ids.kemkes.go.id/organization/{B} but the certificate "
                             f"is issued to http://sys-ids.kemkes.go.id/organization/{A}")


@pytest.mark.parametrize("who", [{"display": "RSUD Sehat Sentosa"}, {"reference": "Patient/1"}, None,
                                 {"reference": f"Organization/{A}",
                                  "identifier": {"system": "http://sys-ids.kemkes.go.id/organization", "value": B}}])
def test_a_who_that_does_not_name_the_certified_hospital_fails(signing, genuine, who):
    genuine["signature"]["who"] = who

    result = verify_bundle(genuine, trust=signing.trust_policy())

    assert (result.valid, _checks(result)[2]) == (False, ("identity", False))


def test_two_hospitals_sign_with_different_certificates_and_neither_as_the_other(signing, claim_bundle):
    key_a, key_b = signing.current(A), signing.current(B)
    assert key_a.kid != key_b.kid and key_a.certificate.serial_number != key_b.certificate.serial_number

    as_b_with_a_key = sign_bundle(claim_bundle, key_a, who=SignerIdentity(B).who())
    result = verify_bundle(as_b_with_a_key, trust=signing.trust_policy())

    assert _checks(result) == [("integrity", True), ("trust", True), ("identity", False)]
    assert verify_bundle(signing.sign(claim_bundle, {"reference": f"Organization/{B}"}),
                         trust=signing.trust_policy()).valid


def test_an_expired_certificate_fails_and_says_when_it_was_valid(signing, claim_bundle, tmp_path):
    expired = SigningKeyStore(tmp_path / "expired", alg="ES256", certify=lambda key: [
        signing.authority.issue(key, SignerIdentity(A), now=NOW - dt.timedelta(days=30),
                                validity=dt.timedelta(days=1)),
        signing.authority.certificate]).load_or_create()

    result = verify_bundle(sign_bundle(claim_bundle, expired, who=SignerIdentity(A).who()),
                           trust=signing.trust_policy())

    assert _checks(result) == [("integrity", True), ("trust", False), ("identity", True)]
    assert "was not valid at the signing time" in result.reason


def test_a_revoked_certificate_fails_from_its_revocation_on(signing, claim_bundle):
    key = signing.current(A)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # the certificate was issued just now
    before = sign_bundle(claim_bundle, key, who=SignerIdentity(A).who(), when=now - dt.timedelta(minutes=1))
    entry = signing.revoke(A, reason="keyCompromise", when=now)
    after = sign_bundle(claim_bundle, key, who=SignerIdentity(A).who(), when=now + dt.timedelta(minutes=1))

    assert verify_bundle(before, trust=signing.trust_policy()).valid  # signed before: still good
    result = verify_bundle(after, trust=signing.trust_policy())
    assert _checks(result) == [("integrity", True), ("trust", False), ("identity", True)]
    assert f"(serial {entry['serial']}) was revoked at {now.isoformat()} (keyCompromise)" in result.reason
    # the hospital signs on with a new certificate
    assert signing.current(A).kid == entry["new_kid"] != key.kid
    assert verify_bundle(signing.sign(claim_bundle, {"reference": f"Organization/{A}"}),
                         trust=signing.trust_policy()).valid


def test_a_one_byte_change_anywhere_in_the_signed_content_fails(signing, genuine):
    paths = [("entry", *path) for path in leaves(genuine["entry"])] + [("identifier", "value"), ("timestamp",)]
    assert len(paths) > 100
    for path in paths:
        original = get_at(genuine, path)
        set_at(genuine, path, changed_one_byte(original))
        result = verify_bundle(genuine, trust=signing.trust_policy())
        set_at(genuine, path, original)
        assert (result.valid, result.reason) == (False, "signature does not match content"), path
    assert verify_bundle(genuine, trust=signing.trust_policy()).valid


def test_rotation_keeps_old_bundles_verifiable_and_the_old_key_in_the_jwks(signing, genuine, claim_bundle):
    old = signing.current(A)
    new = signing.rotate(A)

    assert new.kid != old.kid
    assert [key["kid"] for key in signing.jwks()["keys"]] == [new.kid, old.kid]
    assert verify_bundle(genuine, trust=signing.trust_policy()).valid
    assert verify_bundle(genuine, signing.jwks()).valid
    later = signing.sign(claim_bundle, {"reference": f"Organization/{A}"})
    assert verify_bundle(later, trust=signing.trust_policy()).kid == new.kid


def test_with_no_anchor_nothing_is_trusted_but_integrity_only_says_so(genuine):
    assert verify_bundle(genuine).reason == "no trust anchor is configured, so no signer can be proven"
    integrity = verify_bundle(genuine, integrity_only=True)
    assert integrity.valid and integrity.reason.endswith("the signer is unproven (integrity-only mode)")


def test_keys_at_rest_are_encrypted_with_the_passphrase(tmp_path, claim_bundle):
    signing = HospitalSigning(tmp_path / "s", alg="ES256", passphrase=b"rahasia rumah sakit")
    signing.load()
    kid = signing.current(A).kid

    for path in [tmp_path / "s" / "ca" / "ca.key.pem", tmp_path / "s" / "hospitals" / A / f"{kid}.key.pem"]:
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), path
    again = HospitalSigning(tmp_path / "s", alg="ES256", passphrase=b"rahasia rumah sakit")
    again.load()
    assert again.current(A).kid == kid
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        HospitalSigning(tmp_path / "s", alg="ES256", passphrase=b"salah").load()
    with pytest.raises(SigningKeyError, match="FHIRCLAIM_SIGNING_KEY_PASSPHRASE"):
        HospitalSigning(tmp_path / "s", alg="ES256").load()


def test_an_outside_ca_certificate_is_installed_once_its_ca_is_an_anchor(signing, claim_bundle, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from fhirclaim.signing.authority import CertificateAuthority

    outside = CertificateAuthority(tmp_path / "outside-ca", name="PSrE Kominfo test")
    outside.load_or_create()
    csr = x509.load_pem_x509_csr(signing.csr_pem(A))
    issued = outside.issue(csr.public_key(), SignerIdentity(A))
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (issued, outside.certificate))
    outside_pem = outside.certificate.public_bytes(serialization.Encoding.PEM)

    with pytest.raises(ValueError, match="add its CA as a trust anchor first"):
        signing.install_certificate(A, chain)
    signing.add_trust_anchor(outside_pem)
    key = signing.install_certificate(A, chain)

    assert key.certificate.issuer == outside.certificate.subject
    signed = signing.sign(claim_bundle, {"reference": f"Organization/{A}"})
    assert verify_bundle(signed, trust=signing.trust_policy()).valid
    assert outside_pem in signing.trust_anchors_pem()
    with pytest.raises(ValueError, match=f"does not name hospital {B}"):
        signing.install_certificate(B, chain)
    with pytest.raises(ValueError, match="not a CA certificate"):
        signing.add_trust_anchor(issued.public_bytes(serialization.Encoding.PEM))


def test_a_hospital_id_that_is_not_one_is_refused(signing, claim_bundle):
    for not_an_id in ("../ca", "..", ".", "", "a" * 65):
        with pytest.raises(ValueError):
            signing.current(not_an_id)
    with pytest.raises(ValueError, match="must be an Organization reference"):
        signing.sign(claim_bundle, {"display": "no reference"})
