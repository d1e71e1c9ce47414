"""TEMPORARY stand-in for fhirclaim.inacbg.grouper.Grouper while that module is being written.

Used by conftest only when the real grouper cannot be imported. It answers in the manual's shapes with the
manual's own example values (M-1-04-II with RR04/YY01 options for a hip/knee procedure, else Q-5-42-0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

KELAS_FACTOR = {"1": Decimal("1.4"), "2": Decimal("1.2"), "3": Decimal("1")}


class StandInGrouper:
    version = "5.1.0-standin.0"

    def group(self, claim: Mapping[str, Any], special_cmg: Sequence[str] = ()) -> dict[str, Any]:
        kelas = f"kelas_{claim.get('kelas_rawat') or '3'}"
        if Decimal(str(claim.get("tarif_rs") or 0)) < 15000:
            return self._error("X-0-94-X", "GAGAL: DATA TIDAK LENGKAP", kelas)
        if not claim.get("diagnosa"):
            return self._error("X-0-01-X", "ERROR: DIAGNOSA UTAMA KOSONG", kelas)
        if "81.52" in str(claim.get("procedure", "")).split("#"):
            tariffs = {"kelas_1": 47119400, "kelas_2": 40388100, "kelas_3": 33656700}
            response: dict[str, Any] = {"cbg": {"code": "M-1-04-II",
                                                "description": "PROSEDUR PADA SENDI TUNGKAI BAWAH (SEDANG)",
                                                "tariff": str(tariffs[kelas])}}
            options = [{"code": "RR04", "description": "Hip Implant / knee implant", "type": "Special Prosthesis"},
                       {"code": "YY01", "description": "Hip Replacement / knee replacement",
                        "type": "Special Procedure"}]
            specials = {"YY01": {"code": "YY-01-II", "description": "HIP REPLACEMENT / KNEE REPLACEMENT",
                                 "tariff": 13099000, "type": "Special Procedure"},
                        "RR04": {"code": "RR-04-III", "description": "HIP IMPLANT / KNEE IMPLANT",
                                 "tariff": 26197900, "type": "Special Prosthesis"}}
            if special_cmg:
                response["special_cmg"] = [specials[code] for code in special_cmg if code in specials]
            response.update(kelas=kelas, add_payment_amt=0, inacbg_version=self.version)
            return {"response": response, "special_cmg_option": options,
                    "tarif_alt": [{"kelas": k, "tarif_inacbg": str(v)} for k, v in tariffs.items()]}
        base = Decimal(332900)
        response = {"cbg": {"code": "Q-5-42-0", "description": "PENYAKIT AKUT KECIL LAIN-LAIN",
                            "tariff": str(int(base * KELAS_FACTOR[kelas[-1]]))},
                    "kelas": kelas, "add_payment_amt": 0, "inacbg_version": self.version}
        return {"response": response, "tarif_alt": [
            {"kelas": f"kelas_{k}", "tarif_inacbg": str(int(base * f))} for k, f in KELAS_FACTOR.items()]}

    def _error(self, code: str, description: str, kelas: str) -> dict[str, Any]:
        return {"response": {"cbg": {"code": code, "description": description, "tariff": 0}, "kelas": kelas,
                             "add_payment_amt": 0, "inacbg_version": self.version}}
