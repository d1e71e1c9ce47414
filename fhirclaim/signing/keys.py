"""One signer's keys, kept in one directory: created on first use, rotated without dropping old public keys.

The server keeps one such store per hospital (`hospitals.py`: `DATA_DIR/signing/hospitals/<org>/`). Layout:

    keys.json        which key is current, and every key ever made (kid, alg, created) — no key material
    <kid>.key.pem    private key, PKCS#8 PEM, mode 0600, encrypted when a passphrase is configured
    <kid>.crt.pem    its certificate chain, leaf first (public; sent in the JWS `x5c` header): issued by the
                     installation's CA (`authority.py`) or an outside CA, or self-signed for a store made alone

A kid is the RFC 7638 JWK thumbprint of the public key, so it names the key itself and cannot collide.
Old keys stay listed and their certificates stay on disk: Bundles signed before a rotation must still verify
against the published JWKS. Several processes (server, workers) may start at once on the same directory, so
creating and rotating take an exclusive file lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from jwcrypto import jwk

from fhirclaim.signing.certificates import (
    SUPPORTED_ALGS,
    PrivateKey,
    PublicKey,
    generate_private_key,
    self_signed_certificate,
    x5c_entry,
)
from fhirclaim.signing.files import (
    SigningKeyError,
    locked,
    read_private_key,
    write_atomically,
    write_private_key,
)

log = logging.getLogger(__name__)

MANIFEST = "keys.json"
DEFAULT_SUBJECT = "fhirclaim Bundle signer"
Certify = Callable[[PublicKey], Sequence[x509.Certificate]]  # a new key's chain, leaf first

__all__ = ["Certify", "PublicSigningKey", "SigningKey", "SigningKeyError", "SigningKeyStore", "thumbprint"]


@dataclass(frozen=True)
class PublicSigningKey:
    """A key as the JWKS shows it: kid, alg and certificate — what verifiers need, nothing more."""

    kid: str
    alg: str
    certificate: x509.Certificate = field(repr=False, compare=False)
    created: str = ""
    issuers: tuple[x509.Certificate, ...] = field(default=(), repr=False, compare=False)

    @property
    def x5c(self) -> list[str]:
        """Certificate chain for the JWS `x5c` header: the key's certificate, then the CAs that issued it."""
        return [x5c_entry(certificate) for certificate in (self.certificate, *self.issuers)]

    def jwk(self) -> dict[str, Any]:
        """The public JWK with kid, alg, use "sig" and x5c."""
        public = jwk.JWK.from_pyca(self.certificate.public_key()).export_public(as_dict=True)
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig", "x5c": self.x5c}


@dataclass(frozen=True, repr=False)
class SigningKey(PublicSigningKey):
    """The active key: the public part plus the private key, which never leaves this object but to sign."""

    private_key: PrivateKey = field(kw_only=True, compare=False)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, alg={self.alg!r})"

    def signing_jwk(self) -> jwk.JWK:
        """The private key as a jwcrypto JWK, for `jws.sign_bundle`.

        Made once: jwcrypto re-imports the key through `cryptography`, whose RSA consistency check costs
        ~150 ms for a 3072-bit key — far more than the signature itself.
        """
        return self._signing_jwk

    @cached_property
    def _signing_jwk(self) -> jwk.JWK:
        return jwk.JWK.from_pyca(self.private_key)


def thumbprint(public_key: Any) -> str:
    """RFC 7638 SHA-256 JWK thumbprint, base64url — the kid."""
    return jwk.JWK.from_pyca(public_key).thumbprint()


class SigningKeyStore:
    """Signing keys in `directory`: `load_or_create()` once at start, then `current`, `rotate()`, `jwks()`."""

    def __init__(self, directory: Path | str, alg: str = "RS256", passphrase: bytes | None = None, *,
                 subject: str = DEFAULT_SUBJECT, certify: Certify | None = None) -> None:
        """`certify` makes a new key's certificate chain (a CA issuing it); without it the certificate is
        self-signed with CN=`subject`."""
        if alg not in SUPPORTED_ALGS:
            raise ValueError(f"unsupported signing alg {alg!r} (supported: {', '.join(SUPPORTED_ALGS)})")
        self.directory = Path(directory)
        self.alg = alg
        self._passphrase = passphrase
        self._subject = subject
        self._certify = certify
        self._current: SigningKey | None = None
        self._keys: list[PublicSigningKey] = []

    def __repr__(self) -> str:
        kid = self._current.kid if self._current else None
        return f"SigningKeyStore({str(self.directory)!r}, alg={self.alg!r}, current={kid!r})"

    # --- public interface -----------------------------------------------------------------------------------

    def load_or_create(self) -> SigningKey:
        """Load the current key; make one (key + certificate) when the directory holds none.

        When the configured alg differs from the current key's, a key for the configured alg is made and becomes
        current (a rotation), so changing `alg` in the settings takes effect on the next start.
        """
        with self._locked():
            manifest = self._read_manifest()
            if manifest is None:
                manifest = {"current": None, "keys": []}
            current_entry = _entry(manifest, manifest["current"]) if manifest["current"] else None
            if current_entry is None or current_entry["alg"] != self.alg:
                if current_entry is not None:
                    log.info("signing alg changed from %s to %s: rotating", current_entry["alg"], self.alg)
                manifest = self._add_key(manifest)
            self._load(manifest)
        assert self._current is not None
        return self._current

    @property
    def current(self) -> SigningKey:
        """The key new signatures are made with (loaded or created on first use)."""
        return self._current or self.load_or_create()

    def rotate(self) -> SigningKey:
        """Make a new key the current one; the old public keys stay in the JWKS."""
        with self._locked():
            manifest = self._read_manifest() or {"current": None, "keys": []}
            self._load(self._add_key(manifest))
        assert self._current is not None
        return self._current

    def jwks(self) -> dict[str, Any]:
        """The JWK Set to publish: every key's public JWK (kid, alg, use "sig", x5c), current key first."""
        return {"keys": [key.jwk() for key in self.public_keys()]}

    def public_keys(self) -> list[PublicSigningKey]:
        """Every key ever made here, current first, then the newest."""
        current = self.current
        return [current] + [key for key in reversed(self._keys) if key.kid != current.kid]

    def install_certificate(self, chain: Sequence[x509.Certificate]) -> SigningKey:
        """Replace the current key's certificate chain (leaf first), e.g. one an outside CA issued for `csr()`."""
        if not chain:
            raise ValueError("no certificate given")
        with locked(self.directory):
            current = self.current
            if thumbprint(chain[0].public_key()) != current.kid:
                raise ValueError("the certificate is not for this hospital's current signing key "
                                 f"({current.kid}); have the CA certify the request `keys csr` prints")
            self._write_chain(current.kid, chain)
            self._load(self._read_manifest() or {})
        return self.current

    def csr(self, subject: x509.Name, san_uri: str) -> x509.CertificateSigningRequest:
        """A certificate signing request for the current key, for an outside CA to certify."""
        return (x509.CertificateSigningRequestBuilder().subject_name(subject)
                .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san_uri)]),
                               critical=False)
                .sign(self.current.private_key, hashes.SHA256()))

    # --- files ----------------------------------------------------------------------------------------------

    def _add_key(self, manifest: dict[str, Any]) -> dict[str, Any]:
        private_key = generate_private_key(self.alg)
        kid = thumbprint(private_key.public_key())
        chain = (self._certify(private_key.public_key()) if self._certify
                 else [self_signed_certificate(private_key, self._subject)])
        write_private_key(self._path(kid, "key"), private_key, self._passphrase)
        self._write_chain(kid, chain)
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        manifest = {"current": kid, "keys": [*manifest["keys"], {"kid": kid, "alg": self.alg, "created": created}]}
        self._write_manifest(manifest)
        log.info("new %s signing key %s in %s", self.alg, kid, self.directory)
        return manifest

    def _load(self, manifest: dict[str, Any]) -> None:
        keys = []
        for entry in manifest["keys"]:
            leaf, *issuers = self._read_chain(entry["kid"])
            keys.append(PublicSigningKey(entry["kid"], entry["alg"], leaf, entry.get("created", ""), tuple(issuers)))
        current = next(key for key in keys if key.kid == manifest["current"])
        private_key = read_private_key(self._path(current.kid, "key"), self._passphrase)
        if thumbprint(private_key.public_key()) != current.kid:
            raise SigningKeyError(f"{self._path(current.kid, 'key')} does not hold the key its name says")
        self._keys = keys
        self._current = SigningKey(current.kid, current.alg, current.certificate, current.created, current.issuers,
                                   private_key=private_key)

    def _write_chain(self, kid: str, chain: Sequence[x509.Certificate]) -> None:
        pem = b"".join(certificate.public_bytes(serialization.Encoding.PEM) for certificate in chain)
        write_atomically(self._path(kid, "crt"), pem)

    def _read_chain(self, kid: str) -> list[x509.Certificate]:
        try:
            chain = x509.load_pem_x509_certificates(self._path(kid, "crt").read_bytes())
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"certificate of key {kid} cannot be read: {exc}") from None
        return chain

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if manifest["current"] is not None and _entry(manifest, manifest["current"]) is None:
                raise KeyError(manifest["current"])
            return manifest
        except (ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"{path} is damaged ({exc!r}); restore it from a backup") from None

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomically(self.directory / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))

    def _path(self, kid: str, kind: str) -> Path:
        return self.directory / f"{kid}.{kind}.pem"

    def _locked(self):
        return locked(self.directory)


def _entry(manifest: dict[str, Any], kid: str) -> dict[str, Any] | None:
    return next((entry for entry in manifest["keys"] if entry["kid"] == kid), None)
