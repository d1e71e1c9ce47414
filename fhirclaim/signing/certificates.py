"""Key pairs and X.509 helpers for Bundle signing, and reading the key out of an `x5c` chain.

A self-signed certificate proves nothing about who holds the key: it serves a lone key store (tests, tools). The
server's hospitals sign with certificates their CA issued (`authority.py`), and trust comes from that CA being a
trust anchor (`trust.py`).
"""

from __future__ import annotations

import base64
import datetime as dt
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

SUPPORTED_ALGS = ("RS256", "ES256")
RSA_KEY_BITS = 3072  # NIST SP 800-57: 2048 is acceptable only until 2030; signed Bundles live longer than that
MIN_RSA_KEY_BITS = 2048
CERTIFICATE_VALIDITY = dt.timedelta(days=5 * 365)
CLOCK_SKEW = dt.timedelta(minutes=5)  # notBefore a little in the past so a verifier with a slow clock accepts it


def generate_private_key(alg: str) -> PrivateKey:
    """A fresh key for `alg`: RSA-3072 for RS256, P-256 for ES256."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported signing alg {alg!r} (supported: {', '.join(SUPPORTED_ALGS)})")


def self_signed_certificate(private_key: PrivateKey, common_name: str, *,
                            now: dt.datetime | None = None) -> x509.Certificate:
    """A self-signed end-entity certificate for a signing key (digitalSignature + nonRepudiation)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public_key = private_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )


def x5c_entry(certificate: x509.Certificate) -> str:
    """One `x5c` element: standard base64 (not base64url) of the DER certificate, RFC 7515 §4.1.6."""
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def certificate_from_x5c(entry: str) -> x509.Certificate:
    """Parse one `x5c` element; ValueError when it is not base64 DER.

    Certificates from other tools sometimes carry a zero serial (the HL7 IG publisher's does); `cryptography`
    still reads them but warns, and the warning says nothing useful to a verifier, so it is silenced here.
    """
    der = base64.b64decode(entry, validate=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der)


def key_fits_alg(public_key: object, alg: str) -> str | None:
    """None when `public_key` may verify `alg`; otherwise what is wrong with it."""
    if alg == "RS256":
        if not isinstance(public_key, rsa.RSAPublicKey):
            return "RS256 needs an RSA key"
        if public_key.key_size < MIN_RSA_KEY_BITS:
            return f"RSA key of {public_key.key_size} bits is too small (at least {MIN_RSA_KEY_BITS})"
        return None
    if alg == "ES256":
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
            return "ES256 needs a P-256 key"
        return None
    return f"unsupported alg {alg!r}"
