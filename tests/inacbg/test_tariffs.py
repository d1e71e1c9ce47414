"""Every real tariff we know comes out exactly; the rest follows the stated rule; own tariff tables load."""

from __future__ import annotations

import csv
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from click.testing import CliRunner
from inacbg_cases import INACBG, cbg, claim, outpatient, stay_2016, stay_2022

from fhirclaim.cli import main
from fhirclaim.inacbg import tablegen
from fhirclaim.inacbg.grouper import Grouper
from fhirclaim.inacbg.grouper_tables import DATA
from fhirclaim.inacbg.tariffs import TariffTable

HIP = {"diagnosa": "S71.0#A00.1", "procedure": "81.52#88.38"}  # the manual's coding: M-1-04-II
OPD_2016 = {"tgl_masuk": "2016-11-30 09:00:00", "tgl_pulang": "2016-11-30 11:00:00"}

# The anchors the issue names: (claim, kelas_rawat, expected cbg code, expected tariff)
ISSUE_ANCHORS = {
    "Q-5-42-0": (outpatient(diagnosa="J06.9", **OPD_2016), "3", 332_900),
    "H-2-36-0": (outpatient(diagnosa="H25.9", procedure="13.41", **OPD_2016), "3", 4_630_500),
    "K-4-18-I": (stay_2016(diagnosa="K29.7"), "3", 1_759_500),
    "K-4-17-I": (stay_2016(diagnosa="A09"), "3", 1_996_600),
    "M-1-04-II kelas 1": (stay_2016(**HIP), "1", 47_119_400),
    "M-1-04-II kelas 2": (stay_2016(**HIP), "2", 40_388_100),
    "M-1-04-II kelas 3": (stay_2016(**HIP), "3", 33_656_700),
}


@pytest.mark.parametrize("name", sorted(ISSUE_ANCHORS))
def test_issue_anchors(grouper, name):
    sent, kelas, tariff = ISSUE_ANCHORS[name]
    response = grouper.group({**sent, "kelas_rawat": kelas})["response"]
    assert response["cbg"]["code"] == name.split()[0]
    assert response["cbg"]["tariff"] == str(tariff)


def test_the_manual_tarif_alt_of_m_1_04_ii(grouper):
    answer = grouper.group(stay_2016(kelas_rawat="2", **HIP))
    assert answer["tarif_alt"] == [{"kelas": "kelas_1", "tarif_inacbg": "47119400"},
                                   {"kelas": "kelas_2", "tarif_inacbg": "40388100"},
                                   {"kelas": "kelas_3", "tarif_inacbg": "33656700"}]


def test_special_cmg_anchors_of_the_manual(grouper):
    specials = grouper.group(stay_2016(kelas_rawat="2", **HIP), ["RR04", "YY01"])["response"]["special_cmg"]
    assert {special["code"]: special["tariff"] for special in specials} == {"YY-01-II": 13_099_000,
                                                                          "RR-04-III": 26_197_900}
    phaco = outpatient(diagnosa="H25.9", procedure="13.41", **OPD_2016)
    special = grouper.group(phaco, ["YY10"])["response"]["special_cmg"]
    assert special == [{"code": "YY-10-III", "description": "PHACOEMULSIFICATION", "tariff": 4_630_500,
                        "type": "Special Procedure"}]  # the 2016 screen: YY-10-III Rp 4,630,500


# --- every row of inacbg_observed_tariff_points.csv -----------------------------------------------------------

# How this emulator reads each row: (date of the stay, coding, kode_tarif, kelas_rawat per listed tariff).
# Rows whose kode_tarif the source does not know are placed under the codes tariff_anchors.csv names.
OBSERVED = {
    ("M-1-04-I", "AP"): (claim, {"diagnosa": "S71.0", "procedure": "81.52"}, "AP", ["3"]),
    ("M-1-04-II", "AP"): (claim, HIP, "AP", ["3"]),
    ("M-1-04-I", "unknown"): (claim, {"diagnosa": "S71.0", "procedure": "81.52"}, "DS", ["3"]),
    ("M-1-04-II", "DS"): (claim, HIP, "DS", ["3"]),
    ("A-4-10-I", "AP"): (stay_2016, {"diagnosa": "A41.9"}, "AP", ["1", "2", "3"]),
    ("J-3-13-0", "unknown"): (stay_2022, {"jenis_rawat": "2", "diagnosa": "J45.9", "procedure": "93.94",
                                          "tgl_pulang": "2022-06-06 10:00:00"}, "CP", ["3"]),
    ("A-4-14-I", "unknown"): (stay_2022, {"diagnosa": "A01.0"}, "CP", ["3"]),
    ("K-4-17-I", "unknown"): (stay_2022, {"diagnosa": "A09"}, "CP", ["3"]),
    ("Z-3-27-0", "unknown"): (stay_2022, {"jenis_rawat": "2", "diagnosa": "M54.5", "procedure": "93.39",
                                          "tgl_pulang": "2022-06-06 10:00:00"}, "CP", ["3"]),
}
OPTION_OF = {"YY-01-II": ["YY01"], "RR-04-III-Hip": ["RR04Hip"], "RR-04-III-Knee": ["RR04Knee"],
             "RR-04-III": ["RR04Hip", "RR04Knee"]}  # the DS row says RR-04-III for the 2023 pair


def observed_rows() -> list[dict]:
    with open(INACBG / "inacbg_observed_tariff_points.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def observed_case(row: dict):
    kode = "AP" if row["kode_tarif"] == "AP" else "DS" if row["kode_tarif"].startswith("DS") else "unknown"
    make, coding, kode_tarif, kelas_list = OBSERVED[(row["cbg_code"], kode)]
    if row["kelas"].startswith("kelas_") and row["kelas"] != "kelas_1/2/3":
        kelas_list = [row["kelas"][len("kelas_")]]
    return make(**coding, kode_tarif=kode_tarif), kelas_list


def test_every_observed_row_has_a_reading():
    rows = observed_rows()
    assert len(rows) == 11
    for row in rows:
        observed_case(row)


@pytest.mark.parametrize("index", range(11))
def test_observed_tariff_points(grouper, index):
    row = observed_rows()[index]
    sent, kelas_list = observed_case(row)
    tariffs = [int(value) for value in row["base_tariff_idr"].split(" / ")]
    assert len(tariffs) == len(kelas_list)
    for kelas, tariff in zip(kelas_list, tariffs, strict=True):
        response = grouper.group({**sent, "kelas_rawat": kelas})["response"]
        assert response["cbg"] == {"code": row["cbg_code"], "description": response["cbg"]["description"],
                                   "tariff": str(tariff)}
        for part in filter(None, (part.strip() for part in row["special_cmg_tariffs"].split(";"))):
            code, _, value = part.partition("=")
            for option in OPTION_OF[code]:
                granted = grouper.group({**sent, "kelas_rawat": kelas}, [option])["response"]["special_cmg"]
                assert [special["tariff"] for special in granted] == [int(value)], (code, option)


# --- the derived figures --------------------------------------------------------------------------------------


def packaged_rows() -> list[dict]:
    with DATA.joinpath("tariffs.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_derived_kelas_1_and_2_are_kelas_3_times_the_edition_factors():
    factors = {"2016": {"kelas_1": Decimal("1.4"), "kelas_2": Decimal("1.2")},
               "2023": {"kelas_1": Decimal("1.33"), "kelas_2": Decimal("1.165")}}
    rows = packaged_rows()
    third = {(row["edition"], row["kode_tarif"], row["cbg_code"]): int(row["tariff"]) for row in rows
             if row["kelas"] == "kelas_3"}
    checked = 0
    for row in rows:
        inpatient = row["cbg_code"].split("-")[1] in ("1", "4", "6", "8") and row["cbg_code"][:2] not in ("SF", "CF")
        if row["basis"] != "derived" or row["kelas"] == "kelas_3" or not inpatient:
            continue
        base = third[(row["edition"], row["kode_tarif"], row["cbg_code"])]
        exact = Decimal(base) * factors[row["edition"]][row["kelas"]] / 100
        assert int(row["tariff"]) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100, row
        checked += 1
    assert checked > 10_000


def test_outpatient_and_top_up_tariffs_are_the_same_in_every_kelas():
    per_key: dict[tuple, set[int]] = {}
    for row in packaged_rows():
        code = row["cbg_code"]
        if code.endswith("-0") or code[:2] in ("SF", "CF", "YY", "RR", "DD", "II", "IJ"):
            per_key.setdefault((row["edition"], row["kode_tarif"], code), set()).add(int(row["tariff"]))
    assert per_key and all(len(values) == 1 for values in per_key.values())


def test_every_tariff_is_whole_hundreds_of_rupiah_and_severity_raises_it():
    rows = packaged_rows()
    assert all(int(row["tariff"]) % 100 == 0 for row in rows)
    kelas_3 = {(row["edition"], row["kode_tarif"], row["cbg_code"]): int(row["tariff"]) for row in rows
               if row["kelas"] == "kelas_3"}
    for (edition, kode, code), tariff in kelas_3.items():
        if code.endswith("-I") and not code.startswith(("YY", "RR", "DD", "II", "IJ")):
            assert tariff < kelas_3[(edition, kode, code[:-1] + "II")] < kelas_3[(edition, kode, code[:-1] + "III")]


def test_class_d_hospitals_get_no_special_cmg_tariff():
    for row in packaged_rows():
        if row["cbg_code"][:2] in ("YY", "RR", "DD", "II", "IJ"):
            assert (int(row["tariff"]) == 0) == (row["kode_tarif"] in ("DP", "DS")), row


def test_the_packaged_table_is_what_tablegen_writes():
    assert tablegen.main(["--check"]) == 0


# --- a hospital's own tariff table ------------------------------------------------------------------------------


def own_table(tmp_path, body: str):
    path = tmp_path / "tarif-rs.csv"
    path.write_text("edition,kode_tarif,cbg_code,kelas,tariff,catatan\n" + body, encoding="utf-8")
    return path


def test_own_tariff_table_replaces_the_packaged_one(tmp_path):
    rows = "".join(f"2023,BP,K-4-17-I,{kelas},{tariff},PMK\n"
                   for kelas, tariff in (("kelas_1", 2_900_000), ("kelas_2", 2_500_000), ("kelas_3", 2_100_000)))
    grouper = Grouper(own_table(tmp_path, rows))
    answer = grouper.group(claim(kode_tarif="BP", kelas_rawat="2"))
    assert answer["response"]["cbg"]["tariff"] == "2500000"
    assert [alt["tarif_inacbg"] for alt in answer["tarif_alt"]] == ["2900000", "2500000", "2100000"]
    assert cbg(grouper.group(claim(kode_tarif="AP"))) == "X-0-99-X"  # replaced, not merged
    assert cbg(Grouper().group(claim(kode_tarif="BP"))) == "K-4-17-I"  # other instances keep the packaged table


@pytest.mark.parametrize(("body", "message"), [
    ("2023,AP,K-4-17-I,kelas_3\n", "whole rupiah"),
    ("2023,AP,K-4-17-I,kelas_3,1.5e6\n", "whole rupiah"),
    ("2023,AP,K-4-17-I,kelas_3,-5\n", "whole rupiah"),
    ("2019,AP,K-4-17-I,kelas_3,100\n", "unknown edition"),
    ("2023,AP,K-4-17-I,vip,100\n", "kelas must be"),
    ("2023,AP,K-4-17-I,kelas_3,100\n2023,AP,K-4-17-I,kelas_3,200\n", "given twice"),
])
def test_bad_own_tariff_tables_are_refused_with_the_line(tmp_path, body, message):
    with pytest.raises(ValueError, match=message) as caught:
        TariffTable.from_csv(own_table(tmp_path, body))
    assert "tarif-rs.csv:" in str(caught.value)


def test_own_tariff_table_without_a_column_is_refused(tmp_path):
    path = tmp_path / "tarif.csv"
    path.write_text("edition,kode_tarif,cbg,kelas,tariff\n")
    with pytest.raises(ValueError, match="missing column"):
        TariffTable.from_csv(path)


def test_group_command_takes_an_own_tariff_table(tmp_path):
    table = own_table(tmp_path, "".join(f"2023,AP,K-4-17-I,kelas_{n},{tariff},x\n"
                                        for n, tariff in ((1, 1641900), (2, 1438100), (3, 1234500))))
    claims = tmp_path / "claims.jsonl"
    claims.write_text(json.dumps(claim()) + "\n")
    result = CliRunner().invoke(main, ["group", "--input", str(claims), "--tariff-table", str(table)])
    assert result.exit_code == 0, result.output
    assert '"tariff": "1234500"' in result.stdout
