"""What the server owns on a Claim: the Kemenkes Package extension and the processing status.

Clients may send them back (they read them), but never set them: a client write is judged on the rest of the
Claim. An unchanged resend keeps the stored version as it is; a changed Claim drops the server's fields until the
pipeline has grouped it again (architecture §4).
"""

from __future__ import annotations

from typing import Any

from fhirclaim.claims import systems

PROCESSING_EXT = f"{systems.FHIRCLAIM_BASE}/StructureDefinition/claim-processing"
SERVER_OWNED = frozenset({systems.PACKAGE_EXT, systems.IDRG_RESULT_EXT, PROCESSING_EXT})  # + the 5.10 iDRG result
# grouped | awaiting-special-cmg | signed | error | withdrawn
PROCESSING_STATES = ("grouped", "awaiting-special-cmg", "signed", "error", "withdrawn")


def client_content(claim: dict[str, Any]) -> dict[str, Any]:
    """The Claim as its client wrote it: no meta, no server-owned extensions."""
    body = {k: v for k, v in claim.items() if k != "meta"}
    extensions = [e for e in body.pop("extension", None) or [] if e.get("url") not in SERVER_OWNED]
    if extensions:
        body["extension"] = extensions
    return body


def with_processing(claim: dict[str, Any], state: str) -> dict[str, Any]:
    others = [e for e in claim.get("extension") or [] if e.get("url") != PROCESSING_EXT]
    return {**claim, "extension": [*others, {"url": PROCESSING_EXT, "valueCode": state}]}


def processing_state(claim: dict[str, Any]) -> str | None:
    return next((e.get("valueCode") for e in claim.get("extension") or [] if e.get("url") == PROCESSING_EXT), None)
