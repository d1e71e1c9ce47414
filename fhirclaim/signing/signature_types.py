"""ASTM E1762-95 signature types (FHIR R4 `signature-type` code system): code → display, from a data file."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

SYSTEM = "urn:iso-astm:E1762-95:2013"
AUTHOR = "1.2.840.10065.1.12.1.1"
VERIFICATION = "1.2.840.10065.1.12.1.5"


@cache
def signature_types() -> dict[str, str]:
    """All codes of the code system with their display (loaded once)."""
    table = resources.files("fhirclaim.signing").joinpath("data", "signature-types.csv")
    with table.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["display"] for row in csv.DictReader(handle)}


def display_of(code: str) -> str:
    """The display of an E1762 code; ValueError for a code the code system does not have."""
    try:
        return signature_types()[code]
    except KeyError:
        raise ValueError(f"{code!r} is not an ASTM E1762 signature type code ({SYSTEM})") from None


def coding(code: str) -> dict[str, str]:
    """The `Signature.type` Coding for `code`."""
    return {"system": SYSTEM, "code": code, "display": display_of(code)}
