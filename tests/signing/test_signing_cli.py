"""`fhirclaim verify-bundle FILE [--trust-anchor PEM]… [--crl F]… [--jwks URL|F] [--integrity-only]` and
`fhirclaim keys rotate|revoke|csr|install-certificate|add-trust-anchor`: exit 0 only when all three questions hold
(or, asked for, the content alone), exit 1 saying why."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from fhirclaim.cli import main
from fhirclaim.signing import HospitalSigning, SigningKeyStore
from fhirclaim.signing.jws import sign_bundle

SIGNER = {"reference": "Organization/rs-sehat"}
A = "10000004"


@pytest.fixture
def installation(tmp_path, claim_bundle):
    """A data dir with the CA and hospital A's key, a genuine Bundle of A and the published anchors, as files."""
    signing = HospitalSigning(tmp_path / "data" / "signing", alg="ES256")
    signing.load()
    genuine = signing.sign(claim_bundle, {"reference": f"Organization/{A}"})
    (tmp_path / "genuine.json").write_text(json.dumps(genuine))
    (tmp_path / "anchors.pem").write_bytes(signing.trust_anchors_pem())
    return signing, genuine


def _verify(*args: str):
    return CliRunner().invoke(main, ["verify-bundle", *args])


def test_a_genuine_bundle_verifies_against_the_published_anchors(tmp_path, installation):
    result = _verify(str(tmp_path / "genuine.json"), "--trust-anchor", str(tmp_path / "anchors.pem"))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(" — ")[0] for line in lines[:3]] == ["  integrity: yes", "  trust: yes", "  identity: yes"]
    assert lines[-1].startswith(f"valid: ES256 signature by 2.5.4.97={A},CN=Organization {A} at ")


def test_a_forged_bundle_re_signed_with_another_key_exits_1(tmp_path, installation):
    _, genuine = installation
    forged = copy.deepcopy(genuine)
    forged["entry"][0]["resource"]["total"] = {"value": 99_999_999, "currency": "IDR"}
    attacker = SigningKeyStore(tmp_path / "attacker", alg="ES256").load_or_create()
    (tmp_path / "forged.json").write_text(json.dumps(sign_bundle(forged, attacker, who=genuine["signature"]["who"])))

    result = _verify(str(tmp_path / "forged.json"), "--trust-anchor", str(tmp_path / "anchors.pem"))
    without_anchor = _verify(str(tmp_path / "forged.json"))
    integrity = _verify(str(tmp_path / "forged.json"), "--integrity-only")

    assert result.exit_code == 1
    assert result.stderr.startswith("invalid: certificate CN=fhirclaim Bundle signer does not chain to a trust anchor")
    assert "  trust: NO — " in result.stdout
    assert (without_anchor.exit_code, without_anchor.stderr) == (
        1, "invalid: no trust anchor is configured, so no signer can be proven\n")
    assert integrity.exit_code == 0
    assert integrity.stdout.splitlines()[-1].endswith("the signer is unproven (integrity-only mode)")


def _who_swapped(bundle: dict, signing: HospitalSigning, tmp_path) -> dict:
    bundle["signature"]["who"] = {"reference": "Organization/10000005"}
    return bundle


def _one_byte(bundle: dict, signing: HospitalSigning, tmp_path) -> dict:
    bundle["entry"][0]["resource"]["id"] = bundle["entry"][0]["resource"]["id"][:-1] + "1"
    return bundle


def _expired(bundle: dict, signing: HospitalSigning, tmp_path) -> dict:
    import datetime as dt

    from fhirclaim.signing import SignerIdentity

    store = SigningKeyStore(tmp_path / "expired", alg="ES256", certify=lambda key: [
        signing.authority.issue(key, SignerIdentity(A), now=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                                validity=dt.timedelta(days=30)), signing.authority.certificate])
    return sign_bundle(bundle, store.load_or_create(), who=bundle["signature"]["who"])


@pytest.mark.parametrize(("attack", "says"), [
    (_who_swapped, "invalid: Signature.who names http://sys-ids.kemkes.go.id/organization/10000005"),
    (_one_byte, "invalid: signature does not match content"),
    (_expired, f"invalid: certificate 2.5.4.97={A},CN=Organization {A} was not valid at the signing time"),
])
def test_each_attack_exits_1_and_says_why(tmp_path, installation, attack, says):
    signing, genuine = installation
    (tmp_path / "attacked.json").write_text(json.dumps(attack(copy.deepcopy(genuine), signing, tmp_path)))

    result = _verify(str(tmp_path / "attacked.json"), "--trust-anchor", str(tmp_path / "anchors.pem"))

    assert result.exit_code == 1
    assert result.stderr.startswith(says)


def test_the_third_party_vector_keeps_its_integrity_verdict(tmp_path, vector_text, vector):
    (tmp_path / "good.json").write_text(vector_text)
    vector["entry"][0]["resource"]["valueQuantity"]["value"] = 2
    (tmp_path / "tampered.json").write_text(json.dumps(vector))

    good = _verify(str(tmp_path / "good.json"), "--integrity-only")
    tampered = _verify(str(tmp_path / "tampered.json"), "--integrity-only")

    assert good.exit_code == 0
    assert good.stdout.splitlines()[-1].startswith("integrity only: RS256 signature by OU=IG Publisher,L=Ann Arbor")
    assert (tampered.exit_code, tampered.stderr) == (1, "invalid: signature does not match content\n")


def test_a_revoked_hospital_is_caught_with_the_crl(tmp_path, installation, claim_bundle):
    signing, _ = installation
    revoked_key = signing.current(A)
    data_dir = str(tmp_path / "data")
    revoke = CliRunner().invoke(main, ["keys", "revoke", "--org", A, "--data-dir", data_dir],
                                env={"FHIRCLAIM_SIGNING_ALG": "ES256"})
    assert revoke.exit_code == 0, revoke.output
    late = sign_bundle(claim_bundle, revoked_key, who={"reference": f"Organization/{A}"})
    (tmp_path / "late.json").write_text(json.dumps(late))
    (tmp_path / "crl.pem").write_bytes(signing.authority.crl_pem())

    result = _verify(str(tmp_path / "late.json"), "--trust-anchor", str(tmp_path / "anchors.pem"),
                     "--crl", str(tmp_path / "crl.pem"))

    assert result.exit_code == 1
    assert "was revoked at" in result.stderr and "(keyCompromise)" in result.stderr


def test_jwks_option_resolves_and_restricts_keys(tmp_path, ec_store, rsa_store, claim_bundle):
    bundle_file = tmp_path / "signed.json"
    bundle_file.write_text(json.dumps(sign_bundle(claim_bundle, ec_store.current, who=SIGNER), indent=2))
    own, other = tmp_path / "own-jwks.json", tmp_path / "other-jwks.json"
    own.write_text(json.dumps(ec_store.jwks()))
    other.write_text(json.dumps(rsa_store.jwks()))

    trusted = _verify(str(bundle_file), "--jwks", str(own))
    untrusted = _verify(str(bundle_file), "--jwks", str(other))

    # the lone store's self-signed certificate names no hospital: the key is trusted, the signer's identity is not
    assert "  trust: yes" in trusted.stdout and trusted.exit_code == 1
    assert untrusted.exit_code == 1
    assert untrusted.stderr == f"invalid: unknown kid {ec_store.current.kid!r}: not in the given JWKS\n"


@pytest.mark.parametrize("content", ["{", "[]"])
def test_a_file_that_is_not_a_bundle_is_invalid(tmp_path, content):
    bundle_file = tmp_path / "broken.json"
    bundle_file.write_text(content)

    result = _verify(str(bundle_file))

    assert result.exit_code == 1
    assert result.stderr.startswith("invalid: ")


def test_an_anchor_file_that_is_not_pem_is_named(tmp_path, installation):
    (tmp_path / "junk.pem").write_text("not a certificate")

    result = _verify(str(tmp_path / "genuine.json"), "--trust-anchor", str(tmp_path / "junk.pem"))

    assert result.exit_code == 1 and result.stderr.startswith("invalid: cannot read the input")


def test_keys_rotate_and_csr(tmp_path, installation):
    signing, genuine = installation
    data_dir = str(tmp_path / "data")

    rotated = CliRunner().invoke(main, ["keys", "rotate", "--org", A, "--data-dir", data_dir],
                                 env={"FHIRCLAIM_SIGNING_ALG": "ES256"})
    csr = CliRunner().invoke(main, ["keys", "csr", "--org", A, "--data-dir", data_dir],
                             env={"FHIRCLAIM_SIGNING_ALG": "ES256"})

    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.startswith(f"{A}: new ES256 key ")
    assert csr.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    reloaded = HospitalSigning(tmp_path / "data" / "signing", alg="ES256")
    reloaded.load()
    assert len(reloaded.jwks()["keys"]) == 2  # the old key stays published
    assert reloaded.current(A).kid != signing.current(A).kid


def test_keys_errors_are_one_line(tmp_path, installation):
    result = CliRunner().invoke(main, ["keys", "rotate", "--org", "../x", "--data-dir", str(tmp_path / "data")])

    assert result.exit_code == 2
    assert result.stderr == "Error: '../x' is not an organization id\n"
