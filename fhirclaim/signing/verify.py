"""Verifying a signed Bundle: ours, or any third party's that follows FHIR R4 + CDex (detached JWS, JCS bytes).

`verify_bundle` answers with a `VerificationResult` whose `reason` names the first check that failed — bad input of
any kind is an answer, never an exception. Checks, in order: Bundle.signature is there and is a JOSE signature;
its data is a base64 compact JWS with an empty payload part and a JSON protected header; alg is RS256 or ES256
(`none` and HMAC never: a verifier must not let the signer choose a key-less or shared-secret scheme); sigT equals
Signature.when and the srCms commitments equal Signature.type; the key comes from `x5c` (and must then be in the
JWKS when one is given) or from the JWKS by kid; the signature matches the canonical bytes named by targetFormat.

What a valid result proves: the content is unchanged since the holder of that key signed it. Whether the key
belongs to whom it claims is a matter of trust in the JWKS given (or, later, in a CA) — a bare self-signed x5c
proves integrity, not identity.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from fhirclaim.fhir.outcome import Issue, information, operation_outcome
from fhirclaim.signing.canonical import CanonicalizationError, canonical_bytes, method_of
from fhirclaim.signing.certificates import certificate_from_x5c, key_fits_alg
from fhirclaim.signing.jws import JOSE

log = logging.getLogger(__name__)

ALLOWED_ALGS = ("RS256", "ES256")
UNDERSTOOD_CRIT = frozenset({"b64"})  # RFC 7797 unencoded payload: jwcrypto implements it


@dataclass(frozen=True)
class VerificationResult:
    """The answer: valid or not, why, and what signed (kid, alg, signer = certificate subject or key)."""

    valid: bool
    reason: str
    kid: str | None = None
    alg: str | None = None
    signer: str | None = None

    def to_operation_outcome(self) -> dict[str, Any]:
        """An OperationOutcome saying the result: information when valid, an error at Bundle.signature if not."""
        if self.valid:
            return operation_outcome([information(f"signature valid: {self.reason}")])
        return operation_outcome([Issue("error", "invalid", f"signature invalid: {self.reason}",
                                        ("Bundle.signature",))])


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_bundle(bundle: dict[str, Any], jwks: dict[str, Any] | None = None) -> VerificationResult:
    """Verify `Bundle.signature`; `jwks` (a JWK Set) resolves a kid, and when given every key must be in it."""
    try:
        return _verify(bundle, jwks)
    except _Invalid as invalid:
        return VerificationResult(False, invalid.reason)
    except Exception as exc:  # the contract is "never raises on bad input"; a bug still must not pass a Bundle
        log.warning("signature verification failed unexpectedly: %s", type(exc).__name__)
        return VerificationResult(False, f"verification failed: {type(exc).__name__}")


def _verify(bundle: Any, jwks: dict[str, Any] | None) -> VerificationResult:
    signature = _signature_of(bundle)
    compact, header = _parse_jws(signature["data"])
    alg = _allowed_alg(header)
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    try:
        method = _canonicalization(signature, header)
        signed_at = _signing_time(signature, header)
        _check_commitments(signature, header)
        key, signer = _resolve_key(header, jwks, alg, signed_at)
        _check_signature(compact, key, alg, _canonical(bundle, method))
    except _Invalid as invalid:
        return VerificationResult(False, invalid.reason, kid, alg)
    signer = signer or _who(signature)
    when = f" at {signature['when']}" if isinstance(signature.get("when"), str) else ""
    return VerificationResult(True, f"{alg} signature by {signer}{when} matches content", kid, alg, signer)


# --- Bundle.signature ---------------------------------------------------------------------------------------


def _signature_of(bundle: Any) -> dict[str, Any]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _Invalid("not a Bundle")
    signature = bundle.get("signature")
    if signature is None:
        raise _Invalid("no signature")
    if not isinstance(signature, dict):
        raise _Invalid("signature is not a JSON object (Bundle.signature is 0..1)")
    if signature.get("sigFormat") != JOSE:
        raise _Invalid(f"signature.sigFormat is {signature.get('sigFormat')!r}, not {JOSE!r}")
    if not isinstance(signature.get("data"), str) or not signature["data"]:
        raise _Invalid("signature.data is missing")
    return signature


def _canonicalization(signature: dict[str, Any], header: dict[str, Any]) -> str:
    """The method targetFormat names (else the header's `canon`); both, when present, must agree."""
    stated = signature.get("targetFormat")
    canon = header.get("canon")
    if not isinstance(stated, str):
        if isinstance(canon, str):
            return canon
        raise _Invalid("signature.targetFormat is missing: the canonicalization is unknown")
    try:
        method = method_of(stated)
    except CanonicalizationError as exc:
        raise _Invalid(str(exc)) from None
    if canon is not None and canon != method:
        raise _Invalid(f"JWS header canon {canon!r} does not match signature.targetFormat {stated!r}")
    return method


def _signing_time(signature: dict[str, Any], header: dict[str, Any]) -> dt.datetime | None:
    """When it was signed (sigT or Signature.when); when both are there they must be the same instant."""
    sig_t = _instant(header.get("sigT"), "JWS header sigT")
    when = _instant(signature.get("when"), "signature.when")
    if sig_t and when and sig_t != when:
        raise _Invalid(f"JWS header sigT {header['sigT']!r} does not match signature.when {signature['when']!r}")
    return sig_t or when


def _instant(value: Any, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        # Python 3.10's fromisoformat does not read "Z"
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except (TypeError, ValueError, AttributeError):
        raise _Invalid(f"{what} {value!r} is not an instant") from None
    if parsed.tzinfo is None:
        raise _Invalid(f"{what} {value!r} has no time zone")
    return parsed


def _check_commitments(signature: dict[str, Any], header: dict[str, Any]) -> None:
    """CDex CONF-054: the srCms commitment ids are the Signature.type codes."""
    commitments = header.get("srCms")
    if commitments is None:
        return
    try:
        committed = {c["commId"]["id"].removeprefix("urn:oid:") for c in commitments}
        typed = {coding.get("code") for coding in signature.get("type") or []}
    except (TypeError, KeyError, AttributeError):
        raise _Invalid("JWS header srCms is malformed") from None
    if committed != typed:
        raise _Invalid(f"JWS header srCms {sorted(committed)} does not match signature.type {sorted(map(str, typed))}")


def _who(signature: dict[str, Any]) -> str:
    who = signature.get("who") or {}
    identifier = who.get("identifier") or {}
    return who.get("display") or who.get("reference") or identifier.get("value") or "an unnamed signer"


# --- the JWS ------------------------------------------------------------------------------------------------


def _parse_jws(data: str) -> tuple[str, dict[str, Any]]:
    try:
        compact = base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise _Invalid("signature.data is not base64 of an ASCII compact JWS") from None
    parts = compact.split(".")
    if len(parts) != 3:
        raise _Invalid("signature.data is not a compact JWS (expected header..signature)")
    if parts[1]:
        raise _Invalid("JWS payload is not detached (the payload part must be empty)")
    try:
        header = json.loads(_b64url_decode(parts[0]))
    except (binascii.Error, ValueError):
        raise _Invalid("JWS header not JSON (or not base64url)") from None
    if not isinstance(header, dict):
        raise _Invalid("JWS header not a JSON object")
    return compact, header


def _allowed_alg(header: dict[str, Any]) -> str:
    alg = header.get("alg")
    if alg is None:
        raise _Invalid("JWS header has no alg")
    if alg not in ALLOWED_ALGS:
        raise _Invalid(f"alg {alg!r} is not allowed (only {', '.join(ALLOWED_ALGS)})")
    crit = header.get("crit", [])
    if not isinstance(crit, list) or set(map(str, crit)) - UNDERSTOOD_CRIT:
        raise _Invalid(f"JWS header crit {crit!r} names extensions this verifier does not understand")
    return alg


def _canonical(bundle: dict[str, Any], method: str) -> bytes:
    try:
        return canonical_bytes(bundle, method)
    except CanonicalizationError as exc:
        raise _Invalid(str(exc)) from None


def _check_signature(compact: str, key: jwk.JWK, alg: str, payload: bytes) -> None:
    token = jws.JWS()
    token.allowed_algs = [alg]
    try:
        token.deserialize(compact)
    except JWException as exc:
        raise _Invalid(f"JWS cannot be parsed: {exc}") from None
    try:
        token.verify(key, alg=alg, detached_payload=payload)
    except JWException:
        raise _Invalid("signature does not match content") from None


def _b64url_decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


# --- the key ------------------------------------------------------------------------------------------------


def _resolve_key(header: dict[str, Any], jwks: dict[str, Any] | None, alg: str,
                 signed_at: dt.datetime | None) -> tuple[jwk.JWK, str | None]:
    """The verification key and the signer it names: from x5c (checked against the JWKS if given), else by kid."""
    key_set = _key_set(jwks) if jwks is not None else None
    kid = header.get("kid")
    if "x5c" in header:
        key, signer = _x5c_key(header["x5c"], alg, signed_at)
        if key_set is not None:
            _require_in_jwks(key, kid, key_set)
        return key, signer
    if not kid:
        raise _Invalid("JWS header has neither x5c nor kid")
    if key_set is None:
        raise _Invalid(f"JWS header has no x5c and no JWKS was given to resolve kid {kid!r}")
    key = _jwks_key(key_set, kid)
    if key.get("alg") not in (None, alg):
        raise _Invalid(f"JWKS key {kid!r} is for alg {key.get('alg')!r}, the JWS says {alg!r}")
    _require_fit(key.get_op_key("verify"), alg, f"JWKS key {kid!r}")
    return key, f"key {kid}"


def _x5c_key(chain: Any, alg: str, signed_at: dt.datetime | None) -> tuple[jwk.JWK, str]:
    if not isinstance(chain, list) or not chain or not all(isinstance(entry, str) for entry in chain):
        raise _Invalid("JWS header x5c is not a list of base64 certificates")
    try:
        certificate = certificate_from_x5c(chain[0])
    except (binascii.Error, ValueError):
        raise _Invalid("x5c[0] is not a base64 DER certificate") from None
    public_key = certificate.public_key()
    _require_fit(public_key, alg, "x5c certificate key")
    valid_from, valid_to = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if signed_at and not valid_from <= signed_at <= valid_to:
        raise _Invalid(f"x5c certificate was not valid at signing time {signed_at.isoformat()} "
                       f"(valid {valid_from.isoformat()} to {valid_to.isoformat()})")
    return jwk.JWK.from_pyca(public_key), certificate.subject.rfc4514_string()


def _require_fit(public_key: Any, alg: str, what: str) -> None:
    problem = key_fits_alg(public_key, alg)
    if problem:
        raise _Invalid(f"{what} does not fit alg {alg}: {problem}")


def _key_set(jwks: Any) -> jwk.JWKSet:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise _Invalid("JWKS is not a JWK Set (an object with a keys list)")
    try:
        return jwk.JWKSet.from_json(json.dumps(jwks))
    except (JWException, ValueError, TypeError) as exc:
        raise _Invalid(f"JWKS is not a valid JWK Set: {exc or type(exc).__name__}") from None


def _jwks_key(key_set: jwk.JWKSet, kid: str) -> jwk.JWK:
    key = key_set.get_key(kid)
    if key is None:
        raise _Invalid(f"unknown kid {kid!r}: not in the given JWKS")
    return key


def _require_in_jwks(key: jwk.JWK, kid: Any, key_set: jwk.JWKSet) -> None:
    """With a JWKS given it is the trust anchor: the x5c key must be one of its keys (by kid when there is one)."""
    if kid:
        if _jwks_key(key_set, kid).thumbprint() != key.thumbprint():
            raise _Invalid(f"x5c key is not the key the JWKS holds for kid {kid!r}")
        return
    if all(candidate.thumbprint() != key.thumbprint() for candidate in key_set):
        raise _Invalid("the x5c key is not in the given JWKS")
