"""SigningKeyStore: made once and reused, private key 0600 (and encrypted when asked), rotation, a public-only JWKS."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from fhirclaim.signing.keys import SigningKeyError, SigningKeyStore

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _files(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir() if path.name != ".lock"}


def test_made_on_first_start_and_reused_after(tmp_path):
    first = SigningKeyStore(tmp_path, alg="RS256").load_or_create()
    files = _files(tmp_path)

    second = SigningKeyStore(tmp_path, alg="RS256").load_or_create()

    assert second.kid == first.kid
    assert second.certificate == first.certificate
    assert files == _files(tmp_path) == {"keys.json", f"{first.kid}.key.pem", f"{first.kid}.crt.pem"}


@pytest.mark.parametrize(("alg", "key_type", "size"), [("RS256", rsa.RSAPrivateKey, 3072),
                                                       ("ES256", ec.EllipticCurvePrivateKey, 256)])
def test_key_kinds(tmp_path, alg, key_type, size):
    key = SigningKeyStore(tmp_path, alg=alg).load_or_create()

    assert key.alg == alg
    assert isinstance(key.private_key, key_type)
    assert key.private_key.key_size == size


def test_private_key_file_is_mode_0600_and_plain_without_passphrase(tmp_path):
    key = SigningKeyStore(tmp_path, alg="ES256").load_or_create()
    key_file = tmp_path / f"{key.kid}.key.pem"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE" not in (tmp_path / "keys.json").read_text()


def test_passphrase_encrypts_the_private_key(tmp_path):
    key = SigningKeyStore(tmp_path, alg="ES256", passphrase=b"correct horse").load_or_create()

    assert (tmp_path / f"{key.kid}.key.pem").read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SigningKeyStore(tmp_path, alg="ES256", passphrase=b"correct horse").load_or_create().kid == key.kid
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        SigningKeyStore(tmp_path, alg="ES256", passphrase=b"battery staple").load_or_create()
    with pytest.raises(SigningKeyError, match="no passphrase was given"):
        SigningKeyStore(tmp_path, alg="ES256").load_or_create()


def test_kid_is_the_rfc7638_thumbprint(tmp_path):
    key = SigningKeyStore(tmp_path, alg="RS256").load_or_create()
    numbers = key.certificate.public_key().public_numbers()

    def b64u_int(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    # RFC 7638 §3: required members only, lexicographic order, no whitespace.
    members = f'{{"e":"{b64u_int(numbers.e)}","kty":"RSA","n":"{b64u_int(numbers.n)}"}}'
    expected = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()
    assert key.kid == expected


def test_certificate_is_a_self_signed_signing_certificate(tmp_path):
    key = SigningKeyStore(tmp_path, alg="ES256", subject="RS Sehat Selalu").load_or_create()
    certificate = key.certificate
    now = dt.datetime.now(dt.timezone.utc)

    assert certificate.subject == certificate.issuer
    assert certificate.subject.rfc4514_string() == "CN=RS Sehat Selalu"
    assert certificate.not_valid_before_utc < now < certificate.not_valid_after_utc
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.content_commitment, usage.key_cert_sign) == (True, True, False)
    certificate.verify_directly_issued_by(certificate)  # self-signed with its own key
    assert key.x5c == [base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()]


def test_rotation_keeps_old_public_keys_in_the_jwks(tmp_path):
    store = SigningKeyStore(tmp_path, alg="RS256")
    old = store.load_or_create()

    new = store.rotate()

    assert new.kid != old.kid
    assert store.current.kid == new.kid
    assert [k["kid"] for k in store.jwks()["keys"]] == [new.kid, old.kid]
    reopened = SigningKeyStore(tmp_path, alg="RS256")
    assert reopened.load_or_create().kid == new.kid
    assert [k["kid"] for k in reopened.jwks()["keys"]] == [new.kid, old.kid]


def test_a_changed_alg_setting_rotates_to_a_key_of_that_alg(tmp_path):
    rsa_key = SigningKeyStore(tmp_path, alg="RS256").load_or_create()

    store = SigningKeyStore(tmp_path, alg="ES256")
    ec_key = store.load_or_create()

    assert ec_key.alg == "ES256" and ec_key.kid != rsa_key.kid
    assert [(k["kid"], k["alg"], k["kty"]) for k in store.jwks()["keys"]] == [
        (ec_key.kid, "ES256", "EC"), (rsa_key.kid, "RS256", "RSA")]


def test_jwks_holds_public_keys_only(tmp_path):
    store = SigningKeyStore(tmp_path, alg="RS256")
    store.load_or_create()
    store.rotate()
    SigningKeyStore(tmp_path, alg="ES256").load_or_create()
    store = SigningKeyStore(tmp_path, alg="ES256")

    jwks = store.jwks()

    assert len(jwks["keys"]) == 3
    for key in jwks["keys"]:
        assert not PRIVATE_JWK_MEMBERS & set(key), key["kid"]
        assert key["use"] == "sig" and key["alg"] in ("RS256", "ES256")
        assert key["x5c"] == [_x5c_of(tmp_path / f"{key['kid']}.crt.pem")]
    serialized = json.dumps(jwks)
    assert "PRIVATE" not in serialized
    private_value = store.current.private_key.private_numbers().private_value
    assert base64.urlsafe_b64encode(private_value.to_bytes(32, "big")).rstrip(b"=").decode() not in serialized


def test_private_key_never_shows_in_repr_or_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="fhirclaim.signing")
    store = SigningKeyStore(tmp_path, alg="ES256", passphrase=b"s3cret-passphrase")
    key = store.load_or_create()
    store.rotate()
    private_value = str(store.current.private_key.private_numbers().private_value)

    shown = " ".join([repr(store), repr(key), repr(store.current), str(store.current), caplog.text])

    assert key.kid in caplog.text  # creation is logged, by kid
    assert "PRIVATE" not in shown and "s3cret" not in shown and private_value not in shown
    assert repr(key) == f"SigningKey(kid={key.kid!r}, alg='ES256')"


def test_damaged_directory_is_reported(tmp_path):
    key = SigningKeyStore(tmp_path, alg="ES256").load_or_create()
    (tmp_path / f"{key.kid}.key.pem").unlink()
    with pytest.raises(SigningKeyError, match="is missing"):
        SigningKeyStore(tmp_path, alg="ES256").load_or_create()

    (tmp_path / "keys.json").write_text("{not json")
    with pytest.raises(SigningKeyError, match="keys.json is damaged"):
        SigningKeyStore(tmp_path, alg="ES256").load_or_create()


def test_unsupported_alg_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unsupported signing alg 'HS256'"):
        SigningKeyStore(tmp_path, alg="HS256")


def test_processes_starting_together_share_one_key(tmp_path):
    # Server and workers start at once on one data dir: the file lock lets exactly one of them make the key.
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("fork")) as pool:
        kids = set(pool.map(_first_start, [tmp_path] * 4))

    assert len(kids) == 1
    assert len(json.loads((tmp_path / "keys.json").read_text())["keys"]) == 1


def _first_start(directory: Path) -> str:
    return SigningKeyStore(directory, alg="RS256").load_or_create().kid


def _x5c_of(pem_file: Path) -> str:
    certificate = x509.load_pem_x509_certificate(pem_file.read_bytes())
    return base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()

