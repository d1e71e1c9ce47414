"""get_claim_data's record, in the manual's shape (names, order and the int-or-string types of its example)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhirclaim.eklaim.emulator.calls import Call
from fhirclaim.eklaim.emulator.fields import parse_timestamp
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.stay import age_at, dmy, length_of_stay
from fhirclaim.eklaim.emulator.store import coder_by_nik

NOT_SENT = "-"
TIMESTAMP = "%Y-%m-%d %H:%M:%S"


def grouping_of(claim: Claim) -> dict[str, Any]:
    """The stored grouper answer ({response, special_cmg_option, tarif_alt}), {} when not grouped."""
    return json.loads(claim.grouping) if claim.grouping else {}


def claim_record(claim: Claim, call: Call) -> dict[str, Any]:
    config = call.env.config
    patient = claim.patient
    age = age_at(patient.tgl_lahir, _admitted_at(claim, call.now))
    coder = coder_by_nik(call.session, claim.coder_nik) if claim.coder_nik else None
    grouping = grouping_of(claim)
    return {
        "kode_rs": config.kode_rs,
        "kelas_rs": config.kelas_rs,
        "kelas_rawat": _int(claim.kelas_rawat),
        "kode_tarif": claim.kode_tarif,
        "jenis_rawat": _int(claim.jenis_rawat),
        "tgl_masuk": dmy(claim.tgl_masuk),
        "tgl_pulang": dmy(claim.tgl_pulang),
        "tgl_lahir": dmy(patient.tgl_lahir),
        "berat_lahir": claim.birth_weight,
        "gender": _int(patient.gender),
        "discharge_status": _int(claim.discharge_status),
        "diagnosa": claim.diagnosa,
        "procedure": claim.procedure,
        "adl_sub_acute": _int(claim.adl_sub_acute),
        "adl_chronic": _int(claim.adl_chronic),
        "tarif_rs": _tarif_rs(claim),
        "los": str(length_of_stay(claim.tgl_masuk, claim.tgl_pulang) or 0),
        "icu_indikator": _int(claim.icu_indikator),
        "icu_los": claim.icu_los,
        "ventilator_hour": claim.ventilator_hour,
        "upgrade_class_ind": claim.upgrade_class_ind,
        "upgrade_class_class": claim.upgrade_class_class,
        "upgrade_class_los": claim.upgrade_class_los,
        "add_payment_pct": f"{Decimal(claim.add_payment_pct or '0'):.1f}",
        "add_payment_amt": str((grouping.get("response") or {}).get("add_payment_amt") or 0),
        "nama_pasien": patient.nama_pasien,
        "nomor_rm": patient.nomor_rm,
        "umur_tahun": age[0] if age else None,
        "umur_hari": str(age[1]) if age else "",
        "tarif_poli_eks": claim.tarif_poli_eks,
        "nama_dokter": claim.nama_dokter,
        "nomor_sep": claim.nomor_sep,
        "nomor_kartu": claim.nomor_kartu,
        "payor_id": claim.payor_id,
        "payor_nm": claim.payor_cd,
        "coder_nm": coder.name if coder else "",
        "coder_nik": claim.coder_nik,
        "patient_id": str(patient.id),
        "admission_id": str(claim.admission_id),
        "hospital_admission_id": str(claim.id),
        "grouping_count": str(claim.grouping_count),
        "grouper": grouping,
        "kemenkes_dc_status_cd": claim.kemenkes_dc_status_cd,
        "kemenkes_dc_sent_dttm": _when(claim.kemenkes_dc_sent_at),
        "bpjs_dc_status_cd": claim.bpjs_dc_status_cd,
        "bpjs_dc_sent_dttm": _when(claim.bpjs_dc_sent_at),
        "klaim_status_cd": claim.klaim_status_cd,
        "bpjs_klaim_status_cd": claim.bpjs_klaim_status_cd or NOT_SENT,
        "bpjs_klaim_status_nm": claim.bpjs_klaim_status_nm or NOT_SENT,
    }


def _admitted_at(claim: Claim, now: datetime) -> datetime:
    return parse_timestamp(claim.tgl_masuk) or now


def _int(value: str) -> int | None:
    return int(value) if value and value.isdigit() else None


def _tarif_rs(claim: Claim) -> Any:
    if claim.tarif_rs_detail:
        return {name: int(Decimal(value)) for name, value in json.loads(claim.tarif_rs_detail).items()}
    return claim.tarif_rs


def _when(moment: datetime | None) -> str:
    return moment.strftime(TIMESTAMP) if moment else NOT_SENT
