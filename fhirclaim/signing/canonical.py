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
"""

from __future__ import annotations

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
        return rfc8785.dumps(_as_json_values(signed_part))
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


def _as_json_values(value: Any) -> Any:
    """Plain JSON values for rfc8785: Decimal → float (JCS numbers are doubles); containers copied shallowly."""
    if isinstance(value, dict):
        return {key: _as_json_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json_values(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
