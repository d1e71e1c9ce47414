"""Signing a Bundle: a detached JWS (RFC 7515 Appendix F) over its canonical bytes, placed in `Bundle.signature`.

Conventions follow the HL7 signed-Bundle vector (reference/fhir/signature-vectors) and Da Vinci CDex, so that
the HL7 validator and CDex verifiers accept our Bundles:
- ordinary JWS signing input — the payload is base64url-encoded in it (no `b64: false`, no `crit`); the payload
  part of the compact serialization is then left empty (`header..signature`);
- protected header: `alg`, `kid`, `typ` "JOSE", `x5c`, `sigT` (= Signature.when), `srCms` (the commitment, i.e.
  the E1762 signature type, CDex CONF-054) and `canon` (the canonicalization, as the HL7 tooling writes it);
- `Signature.data` is standard base64 of the ASCII compact JWS.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from typing import Any

from jwcrypto import jws

from fhirclaim.signing.canonical import DOCUMENT, canonical_bytes, target_format
from fhirclaim.signing.keys import SigningKey
from fhirclaim.signing.signature_types import VERIFICATION, coding

__all__ = ["JOSE", "canonical_bytes", "sign_bundle", "detached_jws", "format_instant"]

JOSE = "application/jose"


def sign_bundle(bundle: dict[str, Any], key: SigningKey, *, who: dict[str, Any], when: dt.datetime | None = None,
                sig_type_code: str = VERIFICATION) -> dict[str, Any]:
    """A copy of `bundle` with `Bundle.signature` made by `key` (any earlier signature is replaced).

    The copy is shallow (issue 17: a deep copy of a claim's Bundle cost about as much as canonicalizing it): it
    shares the entries with `bundle`, so changing either's entries afterwards changes both and breaks the signature.

    `who` is the Reference to the signing Organization; `when` (timezone-aware, default now) is written in UTC at
    second precision, the precision `sigT` and the HL7 vector use.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError("only a Bundle can be signed")
    instant = format_instant(when or dt.datetime.now(dt.timezone.utc))
    signature_type = coding(sig_type_code)
    header = _protected_header(key, instant, signature_type)
    compact = detached_jws(canonical_bytes(bundle, DOCUMENT), key, header)
    return {**bundle, "signature": {
        "type": [signature_type],
        "when": instant,
        "who": copy.deepcopy(who),
        "targetFormat": target_format(DOCUMENT),
        "sigFormat": JOSE,
        "data": base64.b64encode(compact.encode("ascii")).decode("ascii"),
    }}


def detached_jws(payload: bytes, key: SigningKey, protected: dict[str, Any]) -> str:
    """Compact JWS of `payload` with the payload part left out: `header..signature`."""
    token = jws.JWS(payload)
    token.add_signature(key.signing_jwk(), alg=protected["alg"],
                        protected=json.dumps(protected, separators=(",", ":")))
    token.detach_payload()
    return token.serialize(compact=True)


def format_instant(when: dt.datetime) -> str:
    """An R4 `instant` in UTC at second precision (`2025-07-01T07:59:50Z`); naive datetimes are refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("signature time must be timezone-aware")
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _protected_header(key: SigningKey, instant: str, signature_type: dict[str, str]) -> dict[str, Any]:
    return {
        "alg": key.alg,
        "kid": key.kid,
        "typ": "JOSE",
        "x5c": key.x5c,
        "sigT": instant,
        "srCms": [{"commId": {"id": f"urn:oid:{signature_type['code']}", "desc": signature_type["display"]}}],
        "canon": DOCUMENT,
    }
