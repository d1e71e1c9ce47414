"""pull_claim: the final claims of a discharge period as E-Klaim's tab-separated TXT (header line + one per claim).

Column order and the way values are written come from the manual's example line: dates `dd/mm/yyyy`, code lists
`;`-joined (`-` when empty), absent groups `None`, absent special-CMG descriptions `-` with tariff 0, PAYOR_ID as
`payor_id;payor_cd`, TOTAL_TARIF = INA-CBG + sub-acute + chronic + special CMG tariffs. The manual does not say
what C1–C4 hold; the emulator writes C1 = 1 (final), C2 = 1 if sent to the Kemenkes data centre else 0,
C3 = the number of groupings, C4 = the MD5 of the line's other columns (the example's C4 is 32 hex digits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fhirclaim.eklaim.emulator.answers import ok
from fhirclaim.eklaim.emulator.calls import Call, require_hospital_setup
from fhirclaim.eklaim.emulator.claims import SENT
from fhirclaim.eklaim.emulator.data_tables import pull_claim_columns
from fhirclaim.eklaim.emulator.datacentre import final_claims, jenis_rawat_filter, period
from fhirclaim.eklaim.emulator.fields import parse_timestamp
from fhirclaim.eklaim.emulator.grouping import SPECIAL_CMG_SEPARATOR
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.records import grouping_of
from fhirclaim.eklaim.emulator.stay import age_at, dmy, length_of_stay
from fhirclaim.eklaim.messages import as_int

NONE, DASH = "None", "-"
# special CMG type → the TXT columns' suffix (IN_SP, SP, DESKRIPSI_SP, TARIF_SP, ...)
SPECIAL_TYPES = {"Special Procedure": "SP", "Special Prosthesis": "SR", "Special Investigation": "SI",
                 "Special Drug": "SD"}


def pull_claim(call: Call) -> dict[str, Any]:
    start, stop = period(call)
    jenis_rawat = jenis_rawat_filter(call)
    require_hospital_setup(call)
    columns = pull_claim_columns()
    lines = ["\t".join(columns)]
    for claim in final_claims(call, start, stop, jenis_rawat):
        row = txt_row(claim, call)
        values = [_clean(row[name]) for name in columns[:-1]]
        values.append(hashlib.md5("\t".join(values).encode("utf-8"), usedforsecurity=False).hexdigest())
        lines.append("\t".join(values))
    return ok(response={"data": "\n".join(lines) + "\n"})


def txt_row(claim: Claim, call: Call) -> dict[str, Any]:
    """Every column but C4 (the checksum) for one claim."""
    config = call.env.config
    patient = claim.patient
    grouping = grouping_of(claim)
    response: Mapping[str, Any] = grouping.get("response") or {}
    cbg, sub_acute, chronic = (response.get(key) or {} for key in ("cbg", "sub_acute", "chronic"))
    age = age_at(patient.tgl_lahir, _admission(claim, call)) or ("", "")
    row: dict[str, Any] = {
        "KODE_RS": config.kode_rs, "KELAS_RS": config.kelas_rs, "KELAS_RAWAT": claim.kelas_rawat,
        "KODE_TARIF": claim.kode_tarif, "PTD": claim.jenis_rawat, "ADMISSION_DATE": dmy(claim.tgl_masuk),
        "DISCHARGE_DATE": dmy(claim.tgl_pulang), "BIRTH_DATE": dmy(patient.tgl_lahir),
        "BIRTH_WEIGHT": claim.birth_weight, "SEX": patient.gender, "DISCHARGE_STATUS": claim.discharge_status,
        "DIAGLIST": _codes(claim.diagnosa), "PROCLIST": _codes(claim.procedure),
        "ADL1": claim.adl_sub_acute, "ADL2": claim.adl_chronic,
        "INACBG": cbg.get("code") or NONE, "SUBACUTE": sub_acute.get("code") or NONE,
        "CHRONIC": chronic.get("code") or NONE, "DESKRIPSI_INACBG": cbg.get("description") or DASH,
        "TARIF_INACBG": _tariff(cbg), "TARIF_SUBACUTE": _tariff(sub_acute), "TARIF_CHRONIC": _tariff(chronic),
        "TARIF_RS": claim.tarif_rs, "LOS": length_of_stay(claim.tgl_masuk, claim.tgl_pulang) or 0,
        "ICU_INDIKATOR": claim.icu_indikator, "ICU_LOS": claim.icu_los, "VENT_HOUR": claim.ventilator_hour,
        "NAMA_PASIEN": patient.nama_pasien, "MRN": patient.nomor_rm, "UMUR_TAHUN": age[0], "UMUR_HARI": age[1],
        "DPJP": claim.nama_dokter, "SEP": claim.nomor_sep, "NOKARTU": claim.nomor_kartu,
        "PAYOR_ID": f"{claim.payor_id};{claim.payor_cd}", "CODER_ID": claim.coder_nik,
        "VERSI_INACBG": response.get("inacbg_version") or "",
        "VERSI_GROUPER": getattr(call.env.grouper, "version", ""),
        "C1": 1, "C2": 1 if claim.kemenkes_dc_status_cd == SENT else 0, "C3": claim.grouping_count,
    }
    row.update(_special_columns(claim, grouping))
    row["TOTAL_TARIF"] = sum(row[f"TARIF_{name}"] for name in
                             ("INACBG", "SUBACUTE", "CHRONIC", *SPECIAL_TYPES.values()))
    return row


def _special_columns(claim: Claim, grouping: Mapping[str, Any]) -> dict[str, Any]:
    """IN_xx (the option chosen), xx (the resulting group), DESKRIPSI_xx and TARIF_xx per special CMG type."""
    option_types = {option.get("code"): option.get("type") for option in grouping.get("special_cmg_option") or ()}
    chosen = {option_types.get(code): code for code in claim.special_cmg.split(SPECIAL_CMG_SEPARATOR) if code}
    results = {item.get("type"): item for item in (grouping.get("response") or {}).get("special_cmg") or ()}
    columns: dict[str, Any] = {}
    for type_name, suffix in SPECIAL_TYPES.items():
        result = results.get(type_name) or {}
        columns[f"IN_{suffix}"] = chosen.get(type_name) or NONE
        columns[suffix] = result.get("code") or NONE
        columns[f"DESKRIPSI_{suffix}"] = result.get("description") or DASH
        columns[f"TARIF_{suffix}"] = _tariff(result)
    return columns


def _admission(claim: Claim, call: Call) -> datetime:
    return parse_timestamp(claim.tgl_masuk) or call.now


def _codes(joined: str) -> str:
    return joined.replace(SPECIAL_CMG_SEPARATOR, ";") if joined else DASH


def _tariff(group: Mapping[str, Any]) -> int:
    return as_int(group.get("tariff")) or 0


def _clean(value: Any) -> str:
    """Tabs and line breaks would break the TXT's columns and lines."""
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")
