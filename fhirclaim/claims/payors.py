"""Which E-Klaim payor (jaminan) a claim is billed to, and whether that kind of claim has a SEP at all.

The payor is the Coverage.type coding of the eklaim-payor CodeSystem (manual 5.10 setup Jaminan; the table is
data/eklaim_510_mapping.json `payors`). COVID-19 (71), KIPI (72), newborn (73) and co-incidence (75) claims get no
SEP from BPJS-K: E-Klaim's generate_claim_number numbers them, and that number is their nomor_sep from then on.
"""

from __future__ import annotations

from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.claim_context import ClaimContext
from fhirclaim.claims.fhirvalues import codings


def _payors() -> dict[str, Any]:
    return code_tables.data_table("eklaim_510_mapping")["payors"]


def claim_payor(ctx: ClaimContext) -> str | None:
    """The E-Klaim payor_id the Coverage names (Coverage.type coding of eklaim-payor), or None."""
    for _, coding in codings((ctx.coverage or {}).get("type")):
        if coding.get("system") == systems.EKLAIM_PAYOR and str(coding.get("code")) in _payors():
            return str(coding["code"])
    return None


def payor_code(payor_id: str) -> str | None:
    entry = _payors().get(payor_id)
    return entry["payor_cd"] if isinstance(entry, dict) else None


def needs_generated_claim_number(ctx: ClaimContext) -> bool:
    """COVID-19, KIPI, newborn and co-incidence claims get no SEP: E-Klaim's generate_claim_number numbers them."""
    payor = claim_payor(ctx)
    return bool(payor and _payors()[payor]["generated_number"])
