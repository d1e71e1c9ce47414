"""The installation's own certificate authority: it issues each hospital's signing certificate and revokes it.

Made on first start in `DATA_DIR/signing/ca/`; its private key never leaves that directory (mode 0600, encrypted
with FHIRCLAIM_SIGNING_KEY_PASSPHRASE when set). Its certificate is the default trust anchor BPJS-K verifies
against (published at `/fhir/.well-known/trust-anchors.pem`), its CRL says which hospital certificates were revoked
and since when (`/fhir/.well-known/signing-crl.pem`).

    ca.key.pem      the CA's private key (P-384)
    ca.crt.pem      its self-signed certificate (basicConstraints CA, pathLen 0: it issues end-entity certs only)
    revoked.json    [{serial, org, revoked_at, reason}] — the CRL is made from it on demand
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fhirclaim.signing.certificates import CLOCK_SKEW, PublicKey
from fhirclaim.signing.files import (
    SigningKeyError,
    locked,
    read_private_key,
    write_atomically,
    write_private_key,
)
from fhirclaim.signing.identity import DOCUMENT_SIGNING, SignerIdentity

log = logging.getLogger(__name__)

CA_VALIDITY = dt.timedelta(days=20 * 365)
LEAF_VALIDITY = dt.timedelta(days=2 * 365)
CRL_VALIDITY = dt.timedelta(days=7)
REVOCATION_REASONS = {flag.value: flag for flag in x509.ReasonFlags}


class CertificateAuthority:
    """`load_or_create()` once, then `certificate`, `issue(...)`, `revoke(...)`, `crl()`."""

    def __init__(self, directory: Path | str, passphrase: bytes | None = None, *, name: str = "fhirclaim") -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._name = name
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._certificate: x509.Certificate | None = None

    def load_or_create(self, now: dt.datetime | None = None) -> x509.Certificate:
        with locked(self.directory):
            if not (self.directory / "ca.crt.pem").exists():
                self._create(now or dt.datetime.now(dt.timezone.utc))
            self._key = read_private_key(self.directory / "ca.key.pem", self._passphrase)  # type: ignore[assignment]
            try:
                self._certificate = x509.load_pem_x509_certificate((self.directory / "ca.crt.pem").read_bytes())
            except ValueError as exc:
                raise SigningKeyError(f"{self.directory / 'ca.crt.pem'} is damaged: {exc}") from None
        return self._certificate

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate or self.load_or_create()

    def issue(self, public_key: PublicKey, identity: SignerIdentity, *, now: dt.datetime | None = None,
              validity: dt.timedelta = LEAF_VALIDITY) -> x509.Certificate:
        """A signing certificate for `identity` (subject + URI SAN naming the hospital), within the CA's validity."""
        now = now or dt.datetime.now(dt.timezone.utc)
        ca = self.certificate
        not_after = min(now + validity, ca.not_valid_after_utc)
        ca_key_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return (
            x509.CertificateBuilder()
            .subject_name(identity.subject)
            .issuer_name(ca.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
            .sign(self._private_key(), hashes.SHA384())
        )

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether this CA issued `certificate` (its signature checks out under the CA key)."""
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True

    def revoke(self, certificate: x509.Certificate, *, org: str, reason: str = "keyCompromise",
               when: dt.datetime | None = None) -> dict[str, Any]:
        """Record `certificate` as revoked from `when` (default now): signatures made after then do not verify."""
        if reason not in REVOCATION_REASONS:
            raise ValueError(f"unknown revocation reason {reason!r} (one of {', '.join(REVOCATION_REASONS)})")
        if not self.issued(certificate):
            raise ValueError("this certificate was not issued by the installation's CA; revoke it at its issuer")
        entry = {"serial": format(certificate.serial_number, "x"), "org": org, "reason": reason,
                 "revoked_at": (when or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")}
        with locked(self.directory):
            entries = [e for e in self.revoked() if e["serial"] != entry["serial"]] + [entry]
            write_atomically(self.directory / "revoked.json", (json.dumps(entries, indent=2) + "\n").encode())
        log.info("revoked signing certificate %s of %s (%s)", entry["serial"], org, reason)
        return entry

    def revoked(self) -> list[dict[str, Any]]:
        path = self.directory / "revoked.json"
        if not path.exists():
            return []
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SigningKeyError(f"{path} is damaged ({exc}); restore it from a backup") from None

    def crl(self, now: dt.datetime | None = None) -> x509.CertificateRevocationList:
        """The CA's signed CRL of every revocation, each with its date and reason."""
        now = now or dt.datetime.now(dt.timezone.utc)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.certificate.subject)
                   .last_update(now).next_update(now + CRL_VALIDITY))
        for entry in self.revoked():
            revoked = (x509.RevokedCertificateBuilder().serial_number(int(entry["serial"], 16))
                       .revocation_date(dt.datetime.fromisoformat(entry["revoked_at"]))
                       .add_extension(x509.CRLReason(REVOCATION_REASONS[entry["reason"]]), critical=False)
                       .build())
            builder = builder.add_revoked_certificate(revoked)
        return builder.sign(self._private_key(), hashes.SHA384())

    def crl_pem(self) -> bytes:
        return self.crl().public_bytes(serialization.Encoding.PEM)

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            self.load_or_create()
        assert self._key is not None
        return self._key

    def _create(self, now: dt.datetime) -> None:
        key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{self._name} signing CA"),
                          x509.NameAttribute(NameOID.SERIAL_NUMBER, format(x509.random_serial_number(), "x")[:16])])
        key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(key_id, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_id), critical=False)
            .sign(key, hashes.SHA384())
        )
        write_private_key(self.directory / "ca.key.pem", key, self._passphrase)
        write_atomically(self.directory / "ca.crt.pem", certificate.public_bytes(serialization.Encoding.PEM))
        log.info("new signing CA %s in %s", certificate.subject.rfc4514_string(), self.directory)
