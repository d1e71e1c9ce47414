"""FHIR → E-Klaim: the `new_claim` and `set_claim_data` payloads of a claim (architecture §4 mapping table).

Pure functions of a `ClaimContext`: no database, no HTTP. Field names are E-Klaim's own, every value a string as
the web service manual writes them. A claim E-Klaim cannot take raises `MappingError` naming *every* missing or
invalid element (FHIRPath) and why E-Klaim needs it, so the hospital fixes all of them in one round.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhirclaim.claims.context import (
    ClaimContext,
    ClaimReferences,
    TenantClaimSettings,
    claim_references,
)
from fhirclaim.claims.facts import ClaimFacts, coder_nik_of, nomor_sep_of, read_facts
from fhirclaim.claims.fhirvalues import eklaim_datetime, plain_number, rupiah
from fhirclaim.claims.supporting import read_supporting_info
from fhirclaim.fhir.outcome import Issue

__all__ = [
    "ClaimContext",
    "ClaimReferences",
    "MappingError",
    "NEW_CLAIM_FIELDS",
    "SET_CLAIM_DATA_FIELDS",
    "TenantClaimSettings",
    "claim_references",
    "coder_nik",
    "mapping_issues",
    "nomor_sep",
    "special_cmg",
    "to_new_claim",
    "to_set_claim_data",
]

NEW_CLAIM_FIELDS = ("nomor_kartu", "nomor_sep", "nomor_rm", "nama_pasien", "tgl_lahir", "gender")
SET_CLAIM_DATA_FIELDS = (
    "nomor_sep", "nomor_kartu", "tgl_masuk", "tgl_pulang", "jenis_rawat", "kelas_rawat",
    "adl_sub_acute", "adl_chronic", "icu_indikator", "icu_los", "ventilator_hour",
    "upgrade_class_ind", "upgrade_class_class", "upgrade_class_los", "add_payment_pct",
    "birth_weight", "discharge_status", "diagnosa", "procedure", "tarif_rs", "tarif_poli_eks",
    "nama_dokter", "kode_tarif", "payor_id", "payor_cd", "coder_nik",
)


class MappingError(Exception):
    """The claim lacks what E-Klaim needs; `issues` lists every missing or invalid element."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.text for issue in issues))
        self.issues = issues


def to_new_claim(ctx: ClaimContext, settings: TenantClaimSettings | None = None) -> dict[str, str]:
    """`new_claim` data: registers the patient and opens the claim under its SEP number."""
    facts = _facts(ctx, settings or TenantClaimSettings(), NEW_CLAIM_FIELDS)
    return {
        "nomor_kartu": facts.nomor_kartu or "",
        "nomor_sep": facts.nomor_sep or "",
        "nomor_rm": facts.nomor_rm or "",
        "nama_pasien": facts.nama_pasien or "",
        "tgl_lahir": f"{facts.birth_date.isoformat()} 00:00:00" if facts.birth_date else "",
        "gender": facts.gender or "",
    }


def to_set_claim_data(ctx: ClaimContext, settings: TenantClaimSettings | None = None) -> dict[str, str]:
    """`set_claim_data` data with every field of the architecture §4 table.

    E-Klaim reads an absent field or `""` as "unchanged", so every field is sent with its real value — zero
    for counts the Claim does not carry, `#` for an empty procedure list — and an update that removes ICU days
    or procedures clears them in E-Klaim too.
    """
    settings = settings or TenantClaimSettings()
    facts = _facts(ctx, settings, SET_CLAIM_DATA_FIELDS)
    upgrade = facts.upgrade_class_ind == "1"
    return {
        "nomor_sep": facts.nomor_sep or "",
        "nomor_kartu": facts.nomor_kartu or "",
        "tgl_masuk": eklaim_datetime(facts.admission) if facts.admission else "",
        "tgl_pulang": eklaim_datetime(facts.discharge) if facts.discharge else "",
        "jenis_rawat": facts.jenis_rawat or "",
        "kelas_rawat": facts.kelas_rawat or "",
        "adl_sub_acute": _count(facts.adl_sub_acute),
        "adl_chronic": _count(facts.adl_chronic),
        "icu_indikator": "1" if facts.icu_days else "0",
        "icu_los": _count(facts.icu_days),
        "ventilator_hour": _count(facts.ventilator_hours),
        "upgrade_class_ind": "1" if upgrade else "0",
        "upgrade_class_class": (facts.upgrade_class_class or "") if upgrade else "",
        "upgrade_class_los": _count(facts.upgrade_class_los) if upgrade else "0",
        "add_payment_pct": _count(facts.add_payment_pct) if upgrade else "0",
        "birth_weight": _count(facts.birth_weight),
        "discharge_status": facts.discharge_status or "",
        "diagnosa": "#".join(c.code for c in facts.diagnoses),
        "procedure": "#".join(c.code for c in facts.procedures) or "#",
        "tarif_rs": rupiah(facts.tarif_rs) if facts.tarif_rs is not None else "",
        "tarif_poli_eks": rupiah(facts.tarif_poli_eks) if facts.tarif_poli_eks else "0",
        "nama_dokter": facts.dpjp_name or "",
        "kode_tarif": settings.kode_tarif,
        "payor_id": settings.payor_id,
        "payor_cd": settings.payor_cd,
        "coder_nik": facts.coder_nik or "",
    }


def mapping_issues(ctx: ClaimContext, settings: TenantClaimSettings | None = None) -> list[Issue]:
    """Everything that would stop `to_new_claim` or `to_set_claim_data`, without raising (for prechecks)."""
    facts = read_facts(ctx, (settings or TenantClaimSettings()).timezone)
    return facts.issues_for(NEW_CLAIM_FIELDS + SET_CLAIM_DATA_FIELDS)


def nomor_sep(claim: dict[str, Any]) -> str | None:
    """The Claim's SEP number (focal insurance identifier, else a claim-number identifier), or None."""
    return nomor_sep_of(claim)[0]


def coder_nik(ctx: ClaimContext) -> str | None:
    """The coder's NIK: Claim.enterer.identifier, else the referenced Practitioner's NIK identifier."""
    return coder_nik_of(ctx)


def special_cmg(claim: dict[str, Any]) -> str | None:
    """The special CMG choice for grouper stage 2 (`RR04#YY01`), or None when the Claim names none."""
    chosen = read_supporting_info(claim).choices("special-cmg")
    return "#".join(chosen) if chosen else None


def _facts(ctx: ClaimContext, settings: TenantClaimSettings, fields: tuple[str, ...]) -> ClaimFacts:
    facts = read_facts(ctx, settings.timezone)
    issues = facts.issues_for(fields)
    if issues:
        raise MappingError(issues)
    return facts


def _count(value: Decimal | None) -> str:
    return plain_number(value) if value is not None else "0"
