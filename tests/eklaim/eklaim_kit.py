"""Shared values of the E-Klaim tests: the manual's example requests, the coder, sample claims (imported as
`eklaim_kit`; conftest modules are not importable by name)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fhirclaim.eklaim.messages import ClaimDataUpdate, NewClaim

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MANUAL = json.loads((FIXTURES / "manual_2017_requests.json").read_text(encoding="utf-8"))
CODER_NIK = "123123123123"
CODER_NAME = "INACBG"
START = datetime(2024, 11, 10, 9, 30, 0)


# --- sample claims ---------------------------------------------------------------------------------------------


def manual_request(method: str) -> dict[str, Any]:
    return copy.deepcopy(MANUAL[method])


def new_claim_from_manual(nomor_sep: str = "1710R01011160000249", nomor_rm: str = "123-45-67") -> NewClaim:
    data = MANUAL["new_claim"]["data"]
    return NewClaim(nomor_sep=nomor_sep, nomor_rm=nomor_rm, nama_pasien=data["nama_pasien"],
                    tgl_lahir=data["tgl_lahir"], gender=data["gender"], nomor_kartu=data["nomor_kartu"])


def manual_claim_data(**changes: Any) -> ClaimDataUpdate:
    """The manual's set_claim_data example as a ClaimDataUpdate (without its data.nomor_sep)."""
    data = {k: v for k, v in MANUAL["set_claim_data"]["data"].items() if k != "nomor_sep"}
    data.update(changes)
    return ClaimDataUpdate(**data)


def outpatient_claim_data(**changes: Any) -> ClaimDataUpdate:
    """A small, plain outpatient visit (no ICU, no class upgrade)."""
    data: dict[str, Any] = {"coder_nik": CODER_NIK, "nomor_kartu": "0000668870001",
                            "tgl_masuk": "2024-11-09 08:55:00", "tgl_pulang": "2024-11-09 10:10:00",
                            "jenis_rawat": "2", "kelas_rawat": "3", "discharge_status": "1",
                            "diagnosa": "J06.9", "procedure": "#", "tarif_rs": "250000",
                            "nama_dokter": "DR. ERNA", "kode_tarif": "AP", "payor_id": "3", "payor_cd": "JKN"}
    data.update(changes)
    return ClaimDataUpdate(**data)
