"""The bytes a Bundle signature covers: RFC 8785 (JCS) canonical JSON after the FHIR canonicalization method's cuts.

FHIR names the method in `Signature.targetFormat` as a media-type parameter, e.g.
`application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document`. Two methods matter
for Bundles and are the ones verified here:

- `.../json` — the whole Bundle minus `Bundle.signature` (the HL7 IG publisher signs its examples this way; the
  third-party vector in reference/fhir/signature-vectors uses it);
- `.../json#document` — also without `Bundle.id` and `Bundle.meta`, so that the signature survives the Bundle
  being stored on another server (a new id and lastUpdated). This is what architecture §6 and Da Vinci CDex ask for and
  what `sign_bundle` produces.

Numbers follow JCS: they are IEEE doubles, so a `Decimal` (as a model dump may hold) is signed as the float a
JSON parser on the verifying side will read.

The bytes come from the standard library's C JSON encoder (`sort_keys`, no spaces, UTF-8 kept) whenever that
writes exactly what RFC 8785 does — about 20 times faster than `rfc8785`, which a Bundle per claim makes worth it
(issue 17). It does for plain JSON values (exact dict, list, str, int, float, bool, None) whose keys are ASCII
(UTF-16 and code-point order agree), whose integers are within ±(2^53 − 1) and whose floats are integral below 2^53
(written as the integer) or non-integral with 1e-4 ≤ |x| < 1e16 (where `repr` writes the same shortest digits in
the same fixed notation as ECMAScript). Strings are escaped alike (`\\`, `"`, `\\b\\f\\n\\r\\t`, other
controls as lowercase `\\u00xx`). Anything else — a lone surrogate, a huge or tiny float, NaN, a non-ASCII key —
goes to `rfc8785`, which canonicalizes it or raises its error. tests/signing/test_canonical_fast.py holds the two to
the same bytes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import rfc8785

FHIR_JSON = "application/fhir+json"
JSON = "http://hl7.org/fhir/canonicalization/json"
DOCUMENT = JSON + "#document"

# Root elements each method leaves out before canonicalizing.
_LEFT_OUT: dict[str, tuple[str, ...]] = {
    JSON: ("signature",),
    DOCUMENT: ("id", "meta", "signature"),
}
SUPPORTED_METHODS = tuple(_LEFT_OUT)


class CanonicalizationError(ValueError):
    """The Bundle cannot be turned into canonical bytes (unsupported method, NaN, integer beyond 2^53 …)."""


def canonical_bytes(bundle: dict[str, Any], method: str = DOCUMENT) -> bytes:
    """RFC 8785 bytes of `bundle` as `method` defines them (default: without id, meta and signature)."""
    if method not in _LEFT_OUT:
        raise CanonicalizationError(f"unsupported canonicalization {method!r} (supported: {', '.join(_LEFT_OUT)})")
    signed_part = {name: value for name, value in bundle.items() if name not in _LEFT_OUT[method]}
    try:
        return jcs_bytes(signed_part)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"Bundle cannot be canonicalized: {exc}") from exc


def target_format(method: str = DOCUMENT) -> str:
    """The `Signature.targetFormat` value that names `method`."""
    return f"{FHIR_JSON};canonicalization={method}"


def method_of(target_format_value: str) -> str:
    """The canonicalization method a `Signature.targetFormat` names; CanonicalizationError when there is none.

    Media-type parameters may carry spaces after `;` (the HL7 CI build writes `…json; canonicalization=…`).
    """
    media_type, *parameters = (part.strip() for part in target_format_value.split(";"))
    if media_type.lower() != FHIR_JSON:
        raise CanonicalizationError(f"targetFormat {target_format_value!r} is not {FHIR_JSON}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "canonicalization":
            method = value.strip().strip('"')
            if method not in _LEFT_OUT:
                raise CanonicalizationError(
                    f"unsupported canonicalization {method!r} (supported: {', '.join(_LEFT_OUT)})")
            return method
    raise CanonicalizationError(f"targetFormat {target_format_value!r} names no canonicalization")


def jcs_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (Decimal read as float): the C encoder's where they are the same (module
    docstring), else `rfc8785`'s (which raises rfc8785.CanonicalizationError for what JCS cannot write)."""
    try:
        return _ENCODER.encode(_plain(value)).encode("utf-8")
    except (_NotPlain, UnicodeEncodeError):
        return rfc8785.dumps(_as_json_values(value))


class _NotPlain(Exception):
    """A value the C encoder would not write as RFC 8785 does."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> Any:
    """`value` with Decimals and integral floats made what the C encoder writes as JCS does; _NotPlain when a part
    cannot be (module docstring). Containers are copied, scalars kept."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        for key in value:
            if type(key) is not str or not key.isascii():
                raise _NotPlain()
        return {key: _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        raise _NotPlain()
    if kind is Decimal:
        value = float(value)
        kind = float
    if kind is float:  # NaN and infinities fail both tests
        magnitude = abs(value)
        if magnitude <= _SAFE_INT and value.is_integer():
            return int(value)  # JCS writes 1500000.0 as 1500000 and -0.0 as 0
        if 1e-4 <= magnitude < 1e16 and not value.is_integer():
            return value
    raise _NotPlain()


def _as_json_values(value: Any) -> Any:
    """Plain JSON values for rfc8785: Decimal → float (JCS numbers are doubles); containers copied shallowly."""
    if isinstance(value, dict):
        return {key: _as_json_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json_values(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
