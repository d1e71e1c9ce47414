"""The SATUSEHAT webhook envelope and its `meta.method` names.

`{"data": {"fhir": <resource>}, "meta": {"method": <name>}, "transaction_id": <uuid>, "timestamp": <ISO 8601>}`
is what SATUSEHAT's Klaim module POSTs to a subscriber; receivers written for SATUSEHAT read this shape, so the
facade sends the same. The body is serialised once, when the change is stored, and those exact bytes are signed
and sent on every attempt: a receiver can verify the signature over what it received, byte for byte.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fhirclaim.fhir import jsonio


@cache
def _method_table() -> dict[str, dict[str, str]]:
    return json.loads(resources.files("fhirclaim.webhooks").joinpath("data/methods.json").read_text("utf-8"))


def method_for(resource: dict[str, Any]) -> str:
    """`claimBundle` for a (signed claim) collection Bundle, the catalogue's name, else `<lowerCamelType>Submission`."""
    table = _method_table()
    resource_type = resource["resourceType"]
    if resource_type == "Bundle" and resource.get("type") in table["bundle_types"]:
        return table["bundle_types"][resource["type"]]
    return table["resource_types"].get(resource_type) or resource_type[0].lower() + resource_type[1:] + "Submission"


def envelope_body(resource: dict[str, Any], method: str, transaction_id: str, timestamp: str) -> bytes:
    """The exact bytes to sign and send (FHIR JSON: decimals keep their precision, UTF-8, no whitespace)."""
    envelope = {"data": {"fhir": resource}, "meta": {"method": method}, "transaction_id": transaction_id,
                "timestamp": timestamp}
    return jsonio.dumps(envelope).encode("utf-8")
