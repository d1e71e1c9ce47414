"""`fhirclaim verify-bundle FILE [--jwks F]`: exit 0 and why when valid, exit 1 and why when not."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fhirclaim.cli import main
from fhirclaim.signing.jws import sign_bundle

SIGNER = {"reference": "Organization/rs-sehat"}


def test_the_reference_vector_is_valid(tmp_path, vector_text):
    bundle_file = tmp_path / "bundle-signed-good.json"
    bundle_file.write_text(vector_text)

    result = CliRunner().invoke(main, ["verify-bundle", str(bundle_file)])

    assert result.exit_code == 0
    assert result.output.startswith("valid: RS256 signature by OU=IG Publisher,L=Ann Arbor,CN=hl7.org")


def test_a_tampered_copy_is_invalid_and_says_why(tmp_path, vector):
    vector["entry"][0]["resource"]["valueQuantity"]["value"] = 2
    bundle_file = tmp_path / "tampered.json"
    bundle_file.write_text(json.dumps(vector))

    result = CliRunner().invoke(main, ["verify-bundle", str(bundle_file)])

    assert result.exit_code == 1
    assert result.stderr == "invalid: signature does not match content\n"


def test_jwks_option_resolves_and_restricts_keys(tmp_path, ec_store, rsa_store, claim_bundle):
    bundle_file = tmp_path / "signed.json"
    bundle_file.write_text(json.dumps(sign_bundle(claim_bundle, ec_store.current, who=SIGNER), indent=2))
    own, other = tmp_path / "own-jwks.json", tmp_path / "other-jwks.json"
    own.write_text(json.dumps(ec_store.jwks()))
    other.write_text(json.dumps(rsa_store.jwks()))

    trusted = CliRunner().invoke(main, ["verify-bundle", str(bundle_file), "--jwks", str(own)])
    untrusted = CliRunner().invoke(main, ["verify-bundle", str(bundle_file), "--jwks", str(other)])

    assert (trusted.exit_code, untrusted.exit_code) == (0, 1)
    assert untrusted.stderr == f"invalid: unknown kid {ec_store.current.kid!r}: not in the given JWKS\n"


def test_a_file_that_is_not_json_is_invalid(tmp_path):
    bundle_file = tmp_path / "broken.json"
    bundle_file.write_text("{")

    result = CliRunner().invoke(main, ["verify-bundle", str(bundle_file)])

    assert result.exit_code == 1
    assert result.stderr.startswith("invalid: cannot read")
