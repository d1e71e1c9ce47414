"""Who is trusted to sign: trust anchors (CA certificates) and their revocation lists, and the chain check.

A signer is trusted when the `x5c` chain of its signature ends at one of the anchors, every certificate in it was
valid at the signing time (`sigT`), and none of them had been revoked by then. The chain is built and checked by
`cryptography`'s X.509 verifier (RFC 5280 path validation, the CA profile of the Web PKI for the issuers); the
end-entity certificate is only required to be a well-formed signing certificate, since it is not a TLS one.
A revocation counts from its date: Bundles signed before it keep verifying, later ones do not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

MAX_CHAIN_DEPTH = 4


class UntrustedSigner(Exception):
    """The chain does not lead to an anchor, a certificate was not valid at signing time, or it was revoked."""


@dataclass(frozen=True)
class TrustPolicy:
    """The anchors a verifier accepts and the CRLs it knows; `pem()` is what the server publishes."""

    anchors: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = field(default=(), repr=False)

    @classmethod
    def from_pem(cls, anchors_pem: Iterable[bytes], crls_pem: Iterable[bytes] = ()) -> TrustPolicy:
        """From PEM files (each may hold several certificates); ValueError when one is not PEM."""
        anchors = [certificate for pem in anchors_pem for certificate in x509.load_pem_x509_certificates(pem)]
        crls = [_load_crl(pem) for pem in crls_pem]
        return cls(tuple(anchors), tuple(crls))

    def pem(self) -> bytes:
        return b"".join(anchor.public_bytes(serialization.Encoding.PEM) for anchor in self.anchors)

    def check(self, chain: list[x509.Certificate], signed_at: dt.datetime) -> x509.Certificate:
        """The anchor `chain` (leaf first) leads to at `signed_at`; UntrustedSigner saying why not."""
        if not self.anchors:
            raise UntrustedSigner("no trust anchor is configured, so no signer can be proven")
        builder = (verification.PolicyBuilder().store(verification.Store(list(self.anchors))).time(signed_at)
                   .max_chain_depth(MAX_CHAIN_DEPTH)
                   .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                                       ee_policy=verification.ExtensionPolicy.permit_all()))
        try:
            verified = builder.build_client_verifier().verify(chain[0], chain[1:]).chain
        except verification.VerificationError as exc:
            raise UntrustedSigner(_why_untrusted(chain[0], signed_at, exc)) from None
        self._check_revocation(verified, signed_at)
        return verified[-1]

    def _check_revocation(self, verified: list[x509.Certificate], signed_at: dt.datetime) -> None:
        for certificate, issuer in pairwise(verified):
            for crl in self._crls_of(issuer):
                revoked = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
                if revoked is not None and revoked.revocation_date_utc <= signed_at:
                    raise UntrustedSigner(
                        f"certificate {certificate.subject.rfc4514_string()} (serial {certificate.serial_number:x}) "
                        f"was revoked at {revoked.revocation_date_utc.isoformat()}{_reason(revoked)}, no later than "
                        f"the signing time {signed_at.isoformat()}")

    def _crls_of(self, issuer: x509.Certificate) -> list[x509.CertificateRevocationList]:
        """The CRLs `issuer` signed (a CRL with a bad signature is ignored, as if it were not there)."""
        found = []
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            try:
                if crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                    found.append(crl)
            except (InvalidSignature, TypeError, ValueError):
                continue
        return found


def _load_crl(pem: bytes) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(pem) if b"-----BEGIN" in pem else x509.load_der_x509_crl(pem)


def _why_untrusted(leaf: x509.Certificate, signed_at: dt.datetime, exc: Exception) -> str:
    subject = leaf.subject.rfc4514_string()
    if not leaf.not_valid_before_utc <= signed_at <= leaf.not_valid_after_utc:
        return (f"certificate {subject} was not valid at the signing time {signed_at.isoformat()} (valid "
                f"{leaf.not_valid_before_utc.isoformat()} to {leaf.not_valid_after_utc.isoformat()})")
    if "candidates exhausted" in str(exc):  # no path to an anchor: say who issued it instead of the verifier's words
        return (f"certificate {subject} does not chain to a trust anchor (issued by "
                f"{leaf.issuer.rfc4514_string()}, which is neither a trust anchor nor certified by one)")
    detail = str(exc).split(" (encountered")[0]
    return f"certificate {subject} does not chain to a trust anchor ({detail})"


def _reason(revoked: x509.RevokedCertificate) -> str:
    try:
        return f" ({revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason.value})"
    except x509.ExtensionNotFound:
        return ""
