"""The server's signing keys, kept in one directory: created on first start, rotated without dropping old public keys.

Directory layout (the server passes `data_dir / "signing"`):

    keys.json        which key is current, and every key ever made (kid, alg, created) — no key material
    <kid>.key.pem    private key, PKCS#8 PEM, mode 0600, encrypted when a passphrase is configured
    <kid>.crt.pem    its self-signed certificate (public; sent in the JWS `x5c` header)

A kid is the RFC 7638 JWK thumbprint of the public key, so it names the key itself and cannot collide.
Old keys stay listed and their certificates stay on disk: Bundles signed before a rotation must still verify
against the published JWKS. Several processes (server, workers) may start at once on the same directory, so
creating and rotating take an exclusive file lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk

from fhirclaim.signing.certificates import (
    SUPPORTED_ALGS,
    PrivateKey,
    generate_private_key,
    self_signed_certificate,
    x5c_entry,
)

log = logging.getLogger(__name__)

MANIFEST = "keys.json"
LOCK = ".lock"
DEFAULT_SUBJECT = "fhirclaim Bundle signer"


class SigningKeyError(Exception):
    """The key directory cannot be used (wrong or missing passphrase, damaged manifest, missing file)."""


@dataclass(frozen=True)
class PublicSigningKey:
    """A key as the JWKS shows it: kid, alg and certificate — what verifiers need, nothing more."""

    kid: str
    alg: str
    certificate: x509.Certificate = field(repr=False, compare=False)
    created: str = ""

    @property
    def x5c(self) -> list[str]:
        """Certificate chain for the JWS `x5c` header (one self-signed certificate)."""
        return [x5c_entry(self.certificate)]

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
                 subject: str = DEFAULT_SUBJECT) -> None:
        if alg not in SUPPORTED_ALGS:
            raise ValueError(f"unsupported signing alg {alg!r} (supported: {', '.join(SUPPORTED_ALGS)})")
        self.directory = Path(directory)
        self.alg = alg
        self._passphrase = passphrase
        self._subject = subject
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
        current = self.current
        ordered = [current] + [key for key in reversed(self._keys) if key.kid != current.kid]
        return {"keys": [key.jwk() for key in ordered]}

    # --- files ----------------------------------------------------------------------------------------------

    def _add_key(self, manifest: dict[str, Any]) -> dict[str, Any]:
        private_key = generate_private_key(self.alg)
        kid = thumbprint(private_key.public_key())
        certificate = self_signed_certificate(private_key, self._subject)
        self._write_private_key(kid, private_key)
        self._path(kid, "crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        manifest = {"current": kid, "keys": [*manifest["keys"], {"kid": kid, "alg": self.alg, "created": created}]}
        self._write_manifest(manifest)
        log.info("new %s signing key %s in %s", self.alg, kid, self.directory)
        return manifest

    def _load(self, manifest: dict[str, Any]) -> None:
        keys = [PublicSigningKey(e["kid"], e["alg"], self._read_certificate(e["kid"]), e.get("created", ""))
                for e in manifest["keys"]]
        current = next(key for key in keys if key.kid == manifest["current"])
        private_key = self._read_private_key(current.kid)
        if thumbprint(private_key.public_key()) != current.kid:
            raise SigningKeyError(f"{self._path(current.kid, 'key')} does not hold the key its name says")
        self._keys = keys
        self._current = SigningKey(current.kid, current.alg, current.certificate, current.created,
                                   private_key=private_key)

    def _write_private_key(self, kid: str, private_key: PrivateKey) -> None:
        encryption = (serialization.BestAvailableEncryption(self._passphrase) if self._passphrase
                      else serialization.NoEncryption())
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        # Mode 0600 from the moment the file exists: no window in which another user could read it.
        descriptor = os.open(self._path(kid, "key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())

    def _read_private_key(self, kid: str) -> PrivateKey:
        path = self._path(kid, "key")
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise SigningKeyError(f"private key file {path} is missing") from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("%s is readable by other users; it should be mode 0600", path)
        try:
            key = serialization.load_pem_private_key(pem, password=self._passphrase)
        except TypeError:  # cryptography: encrypted without passphrase, or passphrase for a plain key
            raise SigningKeyError(f"{path}: the key is encrypted and no passphrase was given, or the other way "
                                  "round") from None
        except ValueError:
            raise SigningKeyError(f"{path}: wrong passphrase or damaged key file") from None
        return key  # type: ignore[return-value]

    def _read_certificate(self, kid: str) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self._path(kid, "crt").read_bytes())
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"certificate of key {kid} cannot be read: {exc}") from None

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
        path = self.directory / MANIFEST
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)  # atomic: a crash leaves the old manifest or the new one, never half of one

    def _path(self, kid: str, kind: str) -> Path:
        return self.directory / f"{kid}.{kind}.pem"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.directory / LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _entry(manifest: dict[str, Any], kid: str) -> dict[str, Any] | None:
    return next((entry for entry in manifest["keys"] if entry["kid"] == kid), None)
