"""What the server owns on a Claim: the Kemenkes Package extension, the processing status, and the claim number
E-Klaim generated for a claim without SEP (identifier system eklaim-claim-number). E-Klaim itself (an `eklaim`
client) may post its own Package and iDRG result: they are kept and published as E-Klaim's result.

Clients may send them back (they read them), but never set them: a client write is judged on the rest of the
Claim. An unchanged resend keeps the stored version as it is; a changed Claim drops the server's extensions until
the pipeline has grouped it again (architecture §4), but keeps the generated claim number: it is the claim's key in
E-Klaim, and a second number would open a second claim there.
"""

from __future__ import annotations

from typing import Any

from fhirclaim.claims import systems

PROCESSING_EXT = f"{systems.FHIRCLAIM_BASE}/StructureDefinition/claim-processing"
SERVER_OWNED = frozenset({systems.PACKAGE_EXT, systems.IDRG_RESULT_EXT, PROCESSING_EXT})  # + the 5.10 iDRG result
EKLAIM_RESULTS = frozenset({systems.PACKAGE_EXT, systems.IDRG_RESULT_EXT})  # what E-Klaim may post itself
# grouped | awaiting-special-cmg | signed | error | withdrawn
PROCESSING_STATES = ("grouped", "awaiting-special-cmg", "signed", "error", "withdrawn")


def client_content(claim: dict[str, Any]) -> dict[str, Any]:
    """The Claim as its client wrote it: no meta, no server-owned extensions or identifiers."""
    body = {k: v for k, v in claim.items() if k != "meta"}
    extensions = [e for e in body.pop("extension", None) or [] if e.get("url") not in SERVER_OWNED]
    if extensions:
        body["extension"] = extensions
    identifiers = [i for i in body.pop("identifier", None) or [] if not _server_identifier(i)]
    if identifiers:
        body["identifier"] = identifiers
    return body


def eklaim_result(claim: dict[str, Any]) -> list[dict[str, Any]]:
    """The grouping extensions E-Klaim itself may post on a Claim (its Package, its iDRG result)."""
    return [e for e in claim.get("extension") or [] if isinstance(e, dict) and e.get("url") in EKLAIM_RESULTS]


def with_extensions(claim: dict[str, Any], given: list[dict[str, Any]]) -> dict[str, Any]:
    """`claim` with the extensions `given`, each replacing any of its url."""
    if not given:
        return claim
    urls = {e.get("url") for e in given}
    others = [e for e in claim.get("extension") or [] if e.get("url") not in urls]
    return {**claim, "extension": [*others, *given]}


def with_server_identifiers(claim: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """`claim` carrying the server-written identifiers of `source` (an earlier version), none twice."""
    kept = [i for i in source.get("identifier") or [] if _server_identifier(i)]
    if not kept:
        return claim
    others = [i for i in claim.get("identifier") or [] if not _server_identifier(i)]
    return {**claim, "identifier": [*others, *kept]}


def with_claim_number(claim: dict[str, Any], number: str) -> dict[str, Any]:
    """The Claim carrying the number generate_claim_number gave it (its nomor_sep from then on)."""
    return with_server_identifiers(claim, {"identifier": [{"system": systems.EKLAIM_CLAIM_NUMBER, "value": number}]})


def _server_identifier(identifier: Any) -> bool:
    return isinstance(identifier, dict) and identifier.get("system") == systems.EKLAIM_CLAIM_NUMBER


def with_processing(claim: dict[str, Any], state: str) -> dict[str, Any]:
    others = [e for e in claim.get("extension") or [] if e.get("url") != PROCESSING_EXT]
    return {**claim, "extension": [*others, {"url": PROCESSING_EXT, "valueCode": state}]}


def processing_state(claim: dict[str, Any]) -> str | None:
    return next((e.get("valueCode") for e in claim.get("extension") or [] if e.get("url") == PROCESSING_EXT), None)
