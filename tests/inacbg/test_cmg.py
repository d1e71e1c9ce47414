"""Every case-mix main group of inacbg_cmg_list.csv is reachable, with the case type the input implies."""

from __future__ import annotations

import csv

import pytest
from inacbg_cases import INACBG, cbg, claim, neonate, outpatient, stay_2016

from fhirclaim.inacbg.grouper_tables import load_tables

# CMG → (claim, stage-2 choice, where the CMG shows in the answer, expected code)
ACUTE = {
    "A": (claim(diagnosa="A41.9"), "A-4-10-I"),
    "B": (claim(diagnosa="K80.2"), "B-4-12-I"),
    "C": (claim(diagnosa="C91.0"), "C-4-10-I"),
    "D": (claim(diagnosa="D56.1"), "D-4-13-I"),
    "E": (claim(diagnosa="E11.9"), "E-4-11-I"),
    "F": (claim(diagnosa="F20.0"), "F-4-10-I"),
    "G": (claim(diagnosa="I63.9"), "G-4-11-I"),
    "H": (outpatient(diagnosa="H25.9", procedure="13.41"), "H-2-36-0"),
    "I": (claim(diagnosa="I21.0"), "I-4-10-I"),
    "J": (claim(diagnosa="J18.9"), "J-4-10-I"),
    "K": (claim(diagnosa="A09"), "K-4-17-I"),
    "L": (claim(diagnosa="L03.1"), "L-4-10-I"),
    "M": (claim(diagnosa="S71.0", procedure="81.52"), "M-1-04-I"),
    "N": (claim(diagnosa="N18.5"), "N-4-10-I"),
    "O": (claim(diagnosa="O80"), "O-6-10-I"),
    "P": (neonate(diagnosa="P59.9"), "P-8-13-I"),
    "Q": (outpatient(diagnosa="J06.9"), "Q-5-42-0"),
    "QP": (outpatient(diagnosa="Z51.1"), "QP-5-10-0"),
    "S": (claim(diagnosa="T20.3"), "S-4-16-I"),
    "T": (claim(diagnosa="F10.2"), "T-4-10-I"),
    "U": (claim(diagnosa="J35.0", procedure="28.2"), "U-1-10-I"),
    "V": (claim(diagnosa="N40", gender="1"), "V-4-10-I"),
    "W": (claim(diagnosa="N92.0"), "W-4-10-I"),
    "Z": (claim(diagnosa="Z47.0"), "Z-4-10-I"),
}
TOP_UPS = {  # CMG → (claim, stage-2 choice, expected top-up code)
    "YY": (claim(diagnosa="M16.1", procedure="81.51"), ["YY01"], "YY-01-II"),
    "RR": (claim(diagnosa="M16.1", procedure="81.51"), ["RR04Hip"], "RR-04-III-Hip"),
    "DD": (claim(diagnosa="D56.1"), ["DD02"], "DD-02-I"),
    "II": (outpatient(diagnosa="G40.9", procedure="88.91#88.93"), ["II01"], "II-01-I"),
    "IJ": (outpatient(diagnosa="C73", procedure="92.05"), ["IJ01"], "IJ-01-I"),
}


def reference_cmgs() -> list[str]:
    with open(INACBG / "inacbg_cmg_list.csv", encoding="utf-8") as handle:
        return [row["cmg_code"] for row in csv.DictReader(handle)]


def test_the_cases_cover_every_cmg_of_the_reference_list():
    covered = set(ACUTE) | set(TOP_UPS) | {"SA", "CD", "X"}
    assert covered == set(reference_cmgs())
    assert len(covered) == 32  # the casemix slides say "31 CMGs" but list 32 codes
    assert set(load_tables().cmg_names) == covered


@pytest.mark.parametrize("cmg", sorted(ACUTE))
def test_acute_and_ambulatory_cmgs(grouper, cmg):
    sent, expected = ACUTE[cmg]
    answer = grouper.group(sent)
    assert cbg(answer) == expected
    assert expected.split("-")[0] == cmg


@pytest.mark.parametrize("cmg", sorted(TOP_UPS))
def test_special_cmgs(grouper, cmg):
    sent, chosen, expected = TOP_UPS[cmg]
    offered = [option["code"] for option in grouper.group(sent)["special_cmg_option"]]
    assert set(chosen) <= set(offered)
    granted = grouper.group(sent, chosen)["response"]["special_cmg"]
    assert [special["code"] for special in granted] == [expected]
    assert expected.startswith(cmg + "-")


def test_sub_acute_and_chronic_cmgs(grouper):
    response = grouper.group(claim(diagnosa="I63.9", adl_sub_acute="15", adl_chronic="40"))["response"]
    assert response["sub_acute"]["code"] == "SF-4-10-I"  # CMG SA, written SF- on answers
    assert response["chronic"]["code"] == "CF-4-10-III"  # CMG CD, written CF- on answers


def test_error_cmg(grouper):
    assert cbg(grouper.group(claim(diagnosa="#"))) == "X-0-03-X"


@pytest.mark.parametrize(("sent", "expected"), [
    (claim(diagnosa="S71.0", procedure="81.52"), "M-1-04-I"),              # 1 inpatient procedure
    (outpatient(diagnosa="H25.9", procedure="13.41"), "H-2-36-0"),         # 2 outpatient major procedure
    (outpatient(diagnosa="N18.5", procedure="39.95"), "N-3-15-0"),         # 3 outpatient significant procedure
    (claim(diagnosa="N18.5", procedure="39.95"), "N-4-10-I"),              # 4 dialysis is no operation
    (outpatient(diagnosa="J06.9", procedure="89.03"), "Q-5-42-0"),         # 5 a minor procedure does not count
    (claim(diagnosa="O82.0", procedure="74.1"), "O-6-11-I"),               # 6 inpatient obstetric
    (outpatient(diagnosa="O26.8"), "O-7-11-0"),                            # 7 outpatient obstetric
    (neonate(diagnosa="P07.1", birth_weight="2100"), "P-8-11-I"),         # 8 inpatient neonatal
    (neonate(diagnosa="P59.9", jenis_rawat="2", tgl_pulang="2024-03-01 11:00:00"), "P-9-10-0"),  # 9
])
def test_case_types(grouper, sent, expected):
    assert cbg(grouper.group(sent)) == expected


@pytest.mark.parametrize(("sent", "expected"), [
    # the principal's body system: injuries of hip and thigh are musculoskeletal, intracranial ones nervous
    (claim(diagnosa="S72.0"), "M-4-10-I"),
    (claim(diagnosa="S06.0"), "G-4-13-I"),
    # a wildcard procedure row beats the principal's own fallback: MRI is Z-3-16-0 whatever the diagnosis
    (outpatient(diagnosa="M51.1", procedure="88.93"), "Z-3-16-0"),
    # the first operation that has a row of its own names the CBG, not merely the first operation listed
    (claim(diagnosa="M16.1", procedure="86.22#81.51"), "M-1-04-I"),
    # a neonate is neonatal whatever the principal
    (neonate(diagnosa="Q21.0"), "P-8-15-I"),
    # burns grafted go to the skin CBG the community rules name
    (claim(diagnosa="T24.3", procedure="86.69"), "L-1-20-I"),
    # outpatient chronic diseases and consultations have their own ambulatory groups
    (outpatient(diagnosa="E11.9"), "Q-5-44-0"),
    (outpatient(diagnosa="Z09.0"), "Q-5-18-0"),
    (stay_2016(diagnosa="A41.9"), "A-4-10-I"),
])
def test_cbg_choice(grouper, sent, expected):
    assert cbg(grouper.group(sent)) == expected


@pytest.mark.parametrize(("changes", "severity"), [
    ({}, "I"),
    ({"diagnosa": "A09#E87.1"}, "II"),                    # a CC
    ({"diagnosa": "A09#A41.9"}, "III"),                   # an MCC
    ({"diagnosa": "A09#A09.0"}, "I"),                     # the principal's own category does not count
    ({"diagnosa": "A09#E11.9#N17.9"}, "III"),             # the worst secondary wins
    ({"tgl_pulang": "2024-03-30 10:00:00"}, "II"),        # 30 days
    ({"tgl_pulang": "2024-05-29 10:00:00"}, "III"),       # 90 days
])
def test_severity(grouper, changes, severity):
    response = grouper.group(claim(**changes))["response"]
    assert response["cbg"]["code"] == f"K-4-17-{severity}"
    word = {"I": "RINGAN", "II": "SEDANG", "III": "BERAT"}[severity]
    assert response["cbg"]["description"] == f"NYERI ABDOMEN DAN GASTROENTERITIS LAIN-LAIN ({word})"


def test_outpatients_have_no_severity(grouper):
    response = grouper.group(outpatient(diagnosa="J06.9#A41.9"))["response"]
    assert response["cbg"] == {"code": "Q-5-42-0", "description": "PENYAKIT AKUT KECIL LAIN-LAIN",
                               "tariff": response["cbg"]["tariff"]}
