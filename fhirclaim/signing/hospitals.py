"""The installation's signing identities (architecture §6): one key and certificate per hospital, the CA that issues
them, the trust anchors a verifier needs. The runtime holds one `HospitalSigning`; the API and CLI ask it.

    DATA_DIR/signing/
        ca/                  the installation's CA (authority.py)
        hospitals/<org>/     a hospital's key store (keys.py): its keys, each with its chain [leaf, CA]
        anchors/*.crt.pem    CAs an admin added (an outside CA that certified a hospital, a partner installation)

A hospital's first signature makes its key, certified by the CA for its organization id. `Signature.who` is always
that hospital's Organization, whatever the Claim says: a hospital cannot sign as another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fhirclaim.signing.authority import CertificateAuthority
from fhirclaim.signing.files import SigningKeyError, locked, write_atomically
from fhirclaim.signing.identity import SignerIdentity, organization_of, who_problem
from fhirclaim.signing.jws import sign_bundle
from fhirclaim.signing.keys import PublicSigningKey, SigningKey, SigningKeyStore
from fhirclaim.signing.trust import TrustPolicy, UntrustedSigner

ORG_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,63}")  # a FHIR id that is also a safe directory name (no "..")


class HospitalSigning:
    """`load()` at start; then `sign(bundle, who)`, `rotate`, `revoke`, `install_certificate`, `trust_policy()`."""

    def __init__(self, directory: Path | str, alg: str = "RS256", passphrase: bytes | None = None) -> None:
        self.directory = Path(directory)
        self.alg = alg
        self._passphrase = passphrase
        self.authority = CertificateAuthority(self.directory / "ca", passphrase)
        self._stores: dict[str, SigningKeyStore] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """The CA (made on first start) and every hospital's keys, so that a damaged file fails the start."""
        self.authority.load_or_create()
        for org in self.organizations():
            self.store(org).load_or_create()

    # --- signing --------------------------------------------------------------------------------------------

    def sign(self, bundle: dict[str, Any], who: dict[str, Any], when: dt.datetime | None = None) -> dict[str, Any]:
        """`bundle` signed by the hospital `who` names (`Organization/<org>`), with `who` as that Organization."""
        org = organization_of(who)
        if org is None:
            raise ValueError(f"the signer must be an Organization reference, not {who!r}")
        key = self._usable_key(org)
        return sign_bundle(bundle, key, who=SignerIdentity(org).who(display=who.get("display")), when=when)

    def current(self, org: str) -> SigningKey:
        return self.store(org).current

    def store(self, org: str) -> SigningKeyStore:
        """The key store of hospital `org` (made, with a CA-issued certificate, on first use)."""
        if not ORG_ID.fullmatch(org or ""):
            raise ValueError(f"{org!r} is not an organization id")
        with self._lock:
            if org not in self._stores:
                self._stores[org] = SigningKeyStore(
                    self.directory / "hospitals" / org, alg=self.alg, passphrase=self._passphrase,
                    certify=lambda public_key: [self.authority.issue(public_key, SignerIdentity(org)),
                                                self.authority.certificate])
            return self._stores[org]

    def organizations(self) -> list[str]:
        hospitals = self.directory / "hospitals"
        if not hospitals.is_dir():
            return []
        return sorted(d.name for d in hospitals.iterdir() if d.is_dir() and ORG_ID.fullmatch(d.name))

    # --- lifecycle ------------------------------------------------------------------------------------------

    def rotate(self, org: str) -> SigningKey:
        """A new key and certificate for `org`; the old public keys stay in the JWKS, old Bundles keep verifying."""
        return self.store(org).rotate()

    def revoke(self, org: str, *, reason: str = "keyCompromise", when: dt.datetime | None = None) -> dict[str, Any]:
        """Revoke `org`'s current certificate (signatures after `when` fail) and give it a new key."""
        current = self.current(org)
        entry = self.authority.revoke(current.certificate, org=org, reason=reason, when=when)
        entry["new_kid"] = self.rotate(org).kid
        return entry

    def csr_pem(self, org: str) -> bytes:
        """A certificate signing request for `org`'s current key, for an outside CA."""
        identity = SignerIdentity(org)
        request = self.store(org).csr(identity.subject, identity.uri)
        return request.public_bytes(serialization.Encoding.PEM)

    def install_certificate(self, org: str, pem: bytes) -> SigningKey:
        """Use an outside CA's certificate (PEM chain, leaf first) for `org`'s current key.

        The leaf must name `org` and the chain must end at a trust anchor (add the outside CA first), so that what
        the hospital signs next verifies."""
        try:
            chain = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise ValueError("the body is not a PEM certificate chain") from None
        problem = who_problem(SignerIdentity(org).who(), chain[0])
        if problem:
            raise ValueError(f"the certificate does not name hospital {org}: {problem}")
        try:
            self.trust_policy().check(chain, dt.datetime.now(dt.timezone.utc))
        except UntrustedSigner as untrusted:
            raise ValueError(f"{untrusted}; add its CA as a trust anchor first") from None
        return self.store(org).install_certificate(chain)

    # --- trust ----------------------------------------------------------------------------------------------

    def add_trust_anchor(self, pem: bytes) -> x509.Certificate:
        """Trust a CA certificate (one PEM certificate with basicConstraints CA) from now on."""
        try:
            (anchor,) = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise ValueError("a trust anchor is one PEM CA certificate") from None
        try:
            is_ca = anchor.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise ValueError("the certificate is not a CA certificate (basicConstraints CA)")
        der = anchor.public_bytes(serialization.Encoding.DER)
        anchors = self.directory / "anchors"
        with locked(anchors):
            write_atomically(anchors / f"{hashlib.sha256(der).hexdigest()[:32]}.crt.pem",
                             anchor.public_bytes(serialization.Encoding.PEM))
        return anchor

    def trust_anchors(self) -> list[x509.Certificate]:
        """The installation's CA, then the anchors an admin added."""
        added = []
        for path in sorted((self.directory / "anchors").glob("*.crt.pem")):
            try:
                added.extend(x509.load_pem_x509_certificates(path.read_bytes()))
            except ValueError as exc:
                raise SigningKeyError(f"trust anchor {path} is damaged: {exc}") from None
        return [self.authority.certificate, *added]

    def trust_policy(self) -> TrustPolicy:
        """The anchors and the CA's current CRL: what `$verify-signature` verifies against."""
        return TrustPolicy(tuple(self.trust_anchors()), (self.authority.crl(),))

    def trust_anchors_pem(self) -> bytes:
        return TrustPolicy(tuple(self.trust_anchors())).pem()

    def jwks(self) -> dict[str, Any]:
        """Every hospital's public keys, current ones first: old Bundles keep a key to verify against."""
        keys: list[PublicSigningKey] = []
        for org in self.organizations():
            keys.extend(self.store(org).public_keys())
        return {"keys": [key.jwk() for key in keys]}

    def _usable_key(self, org: str) -> SigningKey:
        """`org`'s current key; if its certificate was revoked (perhaps by another process), the newer one."""
        store = self.store(org)
        revoked = {entry["serial"] for entry in self.authority.revoked()}
        if format(store.current.certificate.serial_number, "x") in revoked:
            store.load_or_create()
            if format(store.current.certificate.serial_number, "x") in revoked:
                store.rotate()
        return store.current
