"""FHIR → E-Klaim: the `new_claim` and `set_claim_data` payloads of a claim (architecture §4 mapping table).

Pure functions of a `ClaimContext`: no database, no HTTP. Field names are E-Klaim's own, every value a string as
the web service manual writes them (5.10's nested objects — tarif_rs, ventilator, apgar, persalinan — as dicts).
`protocol` says which E-Klaim: on "5.1" the coding rides in set_claim_data; on "5.10" it never does (it goes to
`idrg_coding` / `inacbg_coding`) and the 5.10 fields are added (fields_510.py, docs/eklaim-5.10-fields.md).
A claim E-Klaim cannot take raises `MappingError` naming *every* missing or invalid element (FHIRPath) and why
E-Klaim needs it, so the hospital fixes all of them in one round.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhirclaim.claims import fields_510, idrg
from fhirclaim.claims.claim_context import (
    ClaimContext,
    ClaimReferences,
    TenantClaimSettings,
    claim_references,
)
from fhirclaim.claims.facts import ClaimFacts, coder_nik_of, nomor_sep_of, read_facts
from fhirclaim.claims.fhirvalues import eklaim_datetime, plain_number, rupiah
from fhirclaim.claims.fields_510 import has_tuberculosis, needs_generated_claim_number, sitb_registration
from fhirclaim.claims.supporting import read_supporting_info
from fhirclaim.fhir.outcome import Issue, warning

__all__ = [
    "CODING_FIELDS",
    "ClaimContext",
    "ClaimReferences",
    "MappingError",
    "NEW_CLAIM_FIELDS",
    "SET_CLAIM_DATA_FIELDS",
    "SET_CLAIM_DATA_FIELDS_510",
    "TenantClaimSettings",
    "claim_references",
    "coder_nik",
    "idrg_coding",
    "idrg_topups",
    "inacbg_coding",
    "mapping_issues",
    "mapping_warnings",
    "needs_generated_claim_number",
    "nomor_sep",
    "sitb_registration",
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
CODING_FIELDS = ("diagnosa", "procedure", "diagnosa_inagrouper", "procedure_inagrouper")
SET_CLAIM_DATA_FIELDS_510 = tuple(f for f in SET_CLAIM_DATA_FIELDS if f not in CODING_FIELDS)
PROTOCOLS = ("5.1", "5.10")


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


def to_set_claim_data(ctx: ClaimContext, settings: TenantClaimSettings | None = None,
                      protocol: str = "5.1") -> dict[str, Any]:
    """`set_claim_data` data with every field of the architecture §4 table (and, on 5.10, the 5.10 fields).

    E-Klaim reads an absent field or `""` as "unchanged", so every field is sent with its real value — zero
    for counts the Claim does not carry, `#` for an empty procedure list — and an update that removes ICU days
    or procedures clears them in E-Klaim too. On "5.10" the coding keys are never sent (E-Klaim 5.10 codes
    through idrg_diagnosa_set / idrg_procedure_set), and a field whose FHIR source is absent is left out.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    settings = settings or TenantClaimSettings()
    if protocol == "5.10":
        return _set_claim_data_510(ctx, settings)
    facts = _facts(ctx, settings, SET_CLAIM_DATA_FIELDS)
    return _set_claim_data_51(facts, settings)


def _set_claim_data_51(facts: ClaimFacts, settings: TenantClaimSettings) -> dict[str, Any]:
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


def _set_claim_data_510(ctx: ClaimContext, settings: TenantClaimSettings) -> dict[str, Any]:
    facts = _facts(ctx, settings, SET_CLAIM_DATA_FIELDS_510)
    payor_id = fields_510.claim_payor(ctx) or settings.payor_id
    added = fields_510.read_fields_510(ctx, facts, payor_id, settings.timezone)
    errors = [issue for issue in added.issues if issue.is_error]
    if errors:
        raise MappingError(errors)
    data = {k: v for k, v in _set_claim_data_51(facts, settings).items() if k not in CODING_FIELDS}
    data.update(payor_id=payor_id, payor_cd=fields_510.payor_code(payor_id) if payor_id != settings.payor_id
                else settings.payor_cd)
    data.update(added.values)
    return data


def idrg_coding(ctx: ClaimContext) -> tuple[list[str], list[str]]:
    """iDRG's diagnoses (principal first) and procedures (`86.22+2` notation) for idrg_diagnosa_set /
    idrg_procedure_set. Raises `MappingError` naming every code iDRG could not take."""
    diagnoses, procedures, issues = idrg.read_coding(ctx)
    errors = [issue for issue in issues if issue.is_error]
    if errors:
        raise MappingError(errors)
    return idrg.idrg_strings(diagnoses, procedures)


def inacbg_coding(ctx: ClaimContext) -> tuple[list[str] | None, list[str] | None]:
    """INA-CBG's diagnoses and procedures where they must differ from what idrg_to_inacbg_import copies (the
    Claim's plain ICD-10 / ICD-9-CM codings beside IM ones, IM-only codes left out); None where the import stands."""
    diagnoses, procedures, _ = idrg.read_coding(ctx)
    return idrg.inacbg_strings(diagnoses, procedures)


def mapping_issues(ctx: ClaimContext, settings: TenantClaimSettings | None = None,
                   protocol: str = "5.1") -> list[Issue]:
    """Everything that would stop `to_new_claim` or `to_set_claim_data` (and on 5.10 `idrg_coding`), without
    raising (for prechecks)."""
    return [issue for issue in _all_issues(ctx, settings or TenantClaimSettings(), protocol) if issue.is_error]


def mapping_warnings(ctx: ClaimContext, settings: TenantClaimSettings | None = None,
                     protocol: str = "5.10") -> list[Issue]:
    """What the mapping had to guess or leave out, without stopping (an unplaced ChargeItem and where it went, an
    IM-only code INA-CBG will not take, a TB claim without SITB number, ...)."""
    return [issue for issue in _all_issues(ctx, settings or TenantClaimSettings(), protocol) if not issue.is_error]


def _all_issues(ctx: ClaimContext, settings: TenantClaimSettings, protocol: str) -> list[Issue]:
    facts = read_facts(ctx, settings.timezone)
    if protocol != "5.10":
        return facts.issues_for(NEW_CLAIM_FIELDS + SET_CLAIM_DATA_FIELDS)
    issues = facts.issues_for(NEW_CLAIM_FIELDS + SET_CLAIM_DATA_FIELDS_510)
    payor_id = fields_510.claim_payor(ctx) or settings.payor_id
    issues += fields_510.read_fields_510(ctx, facts, payor_id, settings.timezone).issues
    issues += idrg.read_coding(ctx)[2]
    if has_tuberculosis(ctx) and not sitb_registration(ctx):
        issues.append(warning("required", "A tuberculosis diagnosis (A15-A19) without a SITB registration number: "
                              "E-Klaim refuses claim_final until sitb_validate (E2066). Send Claim.supportingInfo "
                              "category sitb-registration.", "Claim.supportingInfo"))
    return list(dict.fromkeys(issues))


def nomor_sep(claim: dict[str, Any]) -> str | None:
    """The Claim's SEP number (focal insurance identifier, else a claim-number identifier), or None."""
    return nomor_sep_of(claim)[0]


def coder_nik(ctx: ClaimContext) -> str | None:
    """The coder's NIK: Claim.enterer.identifier, else the referenced Practitioner's NIK identifier."""
    return coder_nik_of(ctx)


def idrg_topups(claim: dict[str, Any]) -> list[str]:
    """The iDRG top-ups (implants, prostheses) the hospital chose among those iDRG stage 1 offered
    (supportingInfo idrg-topup), for grouper idrg stage 2; empty when the Claim names none."""
    return read_supporting_info(claim).choices("idrg-topup")


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
