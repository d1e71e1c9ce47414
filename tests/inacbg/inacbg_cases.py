"""Claims for the grouper tests: a plain, groupable stay and the ways to vary it."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from testkit import FIXTURES, load_fixture

INACBG = FIXTURES / "inacbg"


def manual_5_1() -> dict:
    """The facts of the INA-CBG v5 / E-Klaim 5.1 manual the tests check (its set_claim_data example, grouper answers,
    pull_claim TXT row and failure codes), each under the manual section it comes from."""
    return load_fixture("inacbg/inacbg_5.1_manual_facts.json")


def slide_error_groups() -> dict[str, str]:
    """The error groups X-0-01-X … X-0-22-X with their descriptions as the casemix slides print them (typos kept)."""
    with open(INACBG / "inacbg_error_groups_slides.csv", encoding="utf-8") as handle:
        return {row["group"]: row["description"] for row in csv.DictReader(handle)}

# An ordinary inpatient stay under the 2023 tariffs: acute gastroenteritis, 4 days, kelas 3, class A hospital.
BASE_CLAIM = {
    "nomor_sep": "0301R0011124V000001", "nomor_kartu": "0000012345678",
    "tgl_masuk": "2024-03-01 08:00:00", "tgl_pulang": "2024-03-04 10:00:00",
    "jenis_rawat": "1", "kelas_rawat": "3", "adl_sub_acute": "0", "adl_chronic": "0",
    "icu_indikator": "0", "icu_los": "0", "ventilator_hour": "0",
    "upgrade_class_ind": "0", "upgrade_class_class": "", "upgrade_class_los": "0", "add_payment_pct": "0",
    "birth_weight": "0", "discharge_status": "1", "diagnosa": "A09", "procedure": "#",
    "tarif_rs": "3500000", "tarif_poli_eks": "0", "nama_dokter": "DR. RUDY", "kode_tarif": "AP",
    "payor_id": "3", "payor_cd": "JKN", "coder_nik": "123123123123",
    "tgl_lahir": "1980-05-17 00:00:00", "gender": "2",
}


def claim(**changes) -> dict:
    """BASE_CLAIM with some fields changed; a value of None removes the field."""
    made = {**BASE_CLAIM, **changes}
    return {key: value for key, value in made.items() if value is not None}


def outpatient(**changes) -> dict:
    return claim(**{"jenis_rawat": "2", "tgl_pulang": BASE_CLAIM["tgl_masuk"], "tarif_rs": "250000", **changes})


def neonate(days_old: int = 3, **changes) -> dict:
    born = date(2024, 3, 1) - timedelta(days=days_old)
    return claim(**{"tgl_lahir": f"{born.isoformat()} 06:00:00", "birth_weight": "3100", **changes})


def stay_2016(**changes) -> dict:
    """The same stay under the 2016 tariffs (the manual's era)."""
    return claim(**{"tgl_masuk": "2016-11-09 08:00:00", "tgl_pulang": "2016-11-12 10:00:00", **changes})


def stay_2022(**changes) -> dict:
    """Discharged in 2022: still the 2016 tariffs (PMK 64/2016 held until PMK 3/2023)."""
    return claim(**{"tgl_masuk": "2022-06-06 08:00:00", "tgl_pulang": "2022-06-09 10:00:00", **changes})


def cbg(answer: dict) -> str:
    return answer["response"]["cbg"]["code"]
