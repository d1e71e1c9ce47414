"""Verifying a signed Bundle: ours, or any third party's that follows FHIR R4 + CDex (detached JWS, JCS bytes).

`verify_bundle` answers three questions separately, each a `Finding`, and says valid only when all three hold:

1. integrity — is the content unchanged? Bundle.signature is a JOSE signature whose data is a base64 compact JWS
   with an empty payload part; alg is RS256 or ES256 (`none` and HMAC never: a verifier must not let the signer
   choose a key-less or shared-secret scheme); sigT equals Signature.when and the srCms commitments equal
   Signature.type; the key (from `x5c`, or from a JWKS by kid) verifies the canonical bytes targetFormat names.
2. trust — who signed? The `x5c` chain ends at a trust anchor, valid and unrevoked at sigT (`trust.TrustPolicy`);
   or, with a JWKS given instead, the key is one of its keys.
3. identity — is the signer the one the Bundle claims? `Signature.who` names the organization the certificate's
   subjectAltName names (`identity.who_problem`, Da Vinci CDex).

`integrity_only=True` answers the first question alone and says the signer is unproven; a third party's Bundle
(the HL7 vectors) keeps its integrity verdict that way. Bad input of any kind is an answer, never an exception.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from fhirclaim.fhir.outcome import Issue, information, operation_outcome
from fhirclaim.signing.canonical import CanonicalizationError, canonical_bytes, method_of
from fhirclaim.signing.certificates import certificate_from_x5c, key_fits_alg
from fhirclaim.signing.identity import who_problem
from fhirclaim.signing.jws import JOSE
from fhirclaim.signing.trust import TrustPolicy, UntrustedSigner

log = logging.getLogger(__name__)

ALLOWED_ALGS = ("RS256", "ES256")
UNDERSTOOD_CRIT = frozenset({"b64"})  # RFC 7797 unencoded payload: jwcrypto implements it


INTEGRITY, TRUST, IDENTITY = "integrity", "trust", "identity"
_EXPRESSION = {INTEGRITY: "Bundle.signature.data", TRUST: "Bundle.signature.data", IDENTITY: "Bundle.signature.who"}


@dataclass(frozen=True)
class Finding:
    """The answer to one of the three questions: which (`check`), yes or no, and why."""

    check: str
    ok: bool
    text: str
    checked: bool = True  # False: not asked for (integrity-only mode), a warning rather than an error

    def issue(self) -> Issue:
        if self.ok:
            return information(f"{self.check}: {self.text}")
        severity = "error" if self.checked else "warning"
        return Issue(severity, "invalid", f"{self.check}: {self.text}", (_EXPRESSION[self.check],))


@dataclass(frozen=True)
class VerificationResult:
    """The answer: valid or not, why (the first finding that failed), what signed, and each finding."""

    valid: bool
    reason: str
    kid: str | None = None
    alg: str | None = None
    signer: str | None = None
    findings: tuple[Finding, ...] = field(default=())
    integrity_only: bool = False

    @property
    def integrity(self) -> bool:
        """Whether the content is unchanged since it was signed (whoever signed it)."""
        return any(f.check == INTEGRITY and f.ok for f in self.findings)

    def to_operation_outcome(self) -> dict[str, Any]:
        """A summary issue ("signature valid: …", or an error at Bundle.signature), then one issue per finding."""
        if self.valid and self.integrity_only:
            summary = Issue("warning", "informational", f"integrity only: {self.reason}", ("Bundle.signature",))
        elif self.valid:
            summary = information(f"signature valid: {self.reason}")
        else:
            summary = Issue("error", "invalid", f"signature invalid: {self.reason}", ("Bundle.signature",))
        return operation_outcome([summary, *(finding.issue() for finding in self.findings)])


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Signed:
    """What the integrity check learned, for the other two: the header's key material and the signature."""

    signature: dict[str, Any]
    alg: str
    kid: str | None
    signed_at: dt.datetime | None
    chain: list[x509.Certificate] | None = None
    key: jwk.JWK | None = None


def verify_bundle(bundle: dict[str, Any], jwks: dict[str, Any] | None = None, *, trust: TrustPolicy | None = None,
                  integrity_only: bool = False, now: dt.datetime | None = None) -> VerificationResult:
    """Verify `Bundle.signature` against `trust` (anchors + CRLs), or against `jwks` (its keys are trusted).

    Without either the signer cannot be proven, so the result is not valid unless `integrity_only` is asked.
    """
    try:
        return _verify(bundle, jwks, trust, integrity_only, now or dt.datetime.now(dt.timezone.utc))
    except _Invalid as invalid:
        return VerificationResult(False, invalid.reason, findings=(Finding(INTEGRITY, False, invalid.reason),))
    except Exception as exc:  # the contract is "never raises on bad input"; a bug still must not pass a Bundle
        log.warning("signature verification failed unexpectedly: %s", type(exc).__name__)
        reason = f"verification failed: {type(exc).__name__}"
        return VerificationResult(False, reason, findings=(Finding(INTEGRITY, False, reason),))


def _verify(bundle: Any, jwks: dict[str, Any] | None, trust: TrustPolicy | None, integrity_only: bool,
            now: dt.datetime) -> VerificationResult:
    signature = _signature_of(bundle)
    compact, header = _parse_jws(signature["data"])
    alg = _allowed_alg(header)
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    signed = _Signed(signature, alg, kid, None)
    integrity = _integrity(bundle, compact, header, jwks, signed)
    findings = [integrity]
    if integrity_only:
        findings.append(Finding(TRUST, False, "not checked (integrity-only mode): the signer is unproven",
                                checked=False))
        return _result(findings, signed, valid=integrity.ok, integrity_only=True)
    findings.append(_trust(signed, jwks, trust, now))
    findings.append(_identity(signed))
    return _result(findings, signed, valid=all(f.ok for f in findings))


def _result(findings: list[Finding], signed: _Signed, *, valid: bool, integrity_only: bool = False
            ) -> VerificationResult:
    signer = _subject(signed) or _who(signed.signature)
    if valid:
        when = f" at {signed.signature['when']}" if isinstance(signed.signature.get("when"), str) else ""
        reason = f"{signed.alg} signature by {signer}{when} matches content"
        if integrity_only:
            reason += "; the signer is unproven (integrity-only mode)"
    else:
        reason = next(f.text for f in findings if not f.ok)
    return VerificationResult(valid, reason, signed.kid, signed.alg, signer, tuple(findings), integrity_only)


def _integrity(bundle: dict[str, Any], compact: str, header: dict[str, Any], jwks: dict[str, Any] | None,
               signed: _Signed) -> Finding:
    try:
        method = _canonicalization(signed.signature, header)
        signed.signed_at = _signing_time(signed.signature, header)
        _check_commitments(signed.signature, header)
        signed.key, signed.chain = _resolve_key(header, jwks, signed.alg)
        _check_signature(compact, signed.key, signed.alg, _canonical(bundle, method))
    except _Invalid as invalid:
        return Finding(INTEGRITY, False, invalid.reason)
    return Finding(INTEGRITY, True, f"{signed.alg} signature over the canonical Bundle matches its content")


def _trust(signed: _Signed, jwks: dict[str, Any] | None, trust: TrustPolicy | None, now: dt.datetime) -> Finding:
    if signed.key is None:
        return Finding(TRUST, False, "not checked: no key could be read from the signature")
    if jwks is not None:  # the caller named the keys it trusts; _resolve_key has required the key to be one
        return Finding(TRUST, True, f"the signing key {signed.kid or '(x5c)'} is one of the given JWKS's keys")
    if not signed.chain:
        return Finding(TRUST, False, "the signature carries no certificate chain (x5c) to check against the "
                                     "trust anchors")
    signed_at = signed.signed_at or now
    if signed_at > now + dt.timedelta(minutes=5):
        return Finding(TRUST, False, f"the signing time {signed_at.isoformat()} is in the future")
    try:
        anchor = (trust or TrustPolicy()).check(signed.chain, signed_at)
    except UntrustedSigner as untrusted:
        return Finding(TRUST, False, str(untrusted))
    return Finding(TRUST, True, f"certificate {_subject(signed)} chains to trust anchor "
                                f"{anchor.subject.rfc4514_string()}, valid and not revoked at {signed_at.isoformat()}")


def _identity(signed: _Signed) -> Finding:
    if not signed.chain:
        return Finding(IDENTITY, False, "no certificate names the signer, so Signature.who cannot be matched")
    problem = who_problem(signed.signature.get("who"), signed.chain[0])
    if problem:
        return Finding(IDENTITY, False, problem)
    return Finding(IDENTITY, True, f"Signature.who ({_who(signed.signature)}) is the organization the certificate "
                                   "names")


def _subject(signed: _Signed) -> str | None:
    return signed.chain[0].subject.rfc4514_string() if signed.chain else None


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


def _resolve_key(header: dict[str, Any], jwks: dict[str, Any] | None, alg: str
                 ) -> tuple[jwk.JWK, list[x509.Certificate] | None]:
    """The verification key and its certificate chain: from x5c (checked against the JWKS if given), else by kid
    from the JWKS (the chain is then the JWK's own x5c, when it has one)."""
    key_set = _key_set(jwks) if jwks is not None else None
    kid = header.get("kid")
    if "x5c" in header:
        key, chain = _x5c_key(header["x5c"], alg)
        if key_set is not None:
            _require_in_jwks(key, kid, key_set)
        return key, chain
    if not kid:
        raise _Invalid("JWS header has neither x5c nor kid")
    if key_set is None:
        raise _Invalid(f"JWS header has no x5c and no JWKS was given to resolve kid {kid!r}")
    key = _jwks_key(key_set, kid)
    if key.get("alg") not in (None, alg):
        raise _Invalid(f"JWKS key {kid!r} is for alg {key.get('alg')!r}, the JWS says {alg!r}")
    _require_fit(key.get_op_key("verify"), alg, f"JWKS key {kid!r}")
    chain = _chain(key.get("x5c")) if key.get("x5c") else None
    return key, chain


def _x5c_key(entries: Any, alg: str) -> tuple[jwk.JWK, list[x509.Certificate]]:
    chain = _chain(entries)
    public_key = chain[0].public_key()
    _require_fit(public_key, alg, "x5c certificate key")
    return jwk.JWK.from_pyca(public_key), chain


def _chain(entries: Any) -> list[x509.Certificate]:
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, str) for entry in entries):
        raise _Invalid("JWS header x5c is not a list of base64 certificates")
    chain = []
    for index, entry in enumerate(entries):
        try:
            chain.append(certificate_from_x5c(entry))
        except (binascii.Error, ValueError):
            raise _Invalid(f"x5c[{index}] is not a base64 DER certificate") from None
    return chain


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
