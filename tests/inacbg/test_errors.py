"""Every error group is reachable, with the description of its source and tariff "0"; bad data never raises."""

from __future__ import annotations

import itertools
import re

import pytest
from inacbg_cases import BASE_CLAIM, cbg, claim, manual_5_1, neonate, outpatient, slide_error_groups

from fhirclaim.inacbg.grouper import Grouper
from fhirclaim.inacbg.grouper_tables import load_tables, rows

REACHED_BY = {
    "X-0-00-X": [claim(diagnosa="Z00.0"), claim(diagnosa="Z72.0"), claim(diagnosa="R93.1")],
    "X-0-01-X": [claim(diagnosa="J17.1#B05.2"), claim(diagnosa="W01"), claim(diagnosa="U82.0")],
    "X-0-02-X": [claim(diagnosa="Z38.0"), neonate(diagnosa="Z38.0")],
    "X-0-03-X": [claim(diagnosa="#"), claim(diagnosa=""), claim(diagnosa=None), claim(diagnosa=" # ")],
    "X-0-04-X": [claim(tgl_lahir="2024-03-02"), claim(tgl_lahir="1890-01-01")],
    "X-0-05-X": [claim(gender="3"), claim(gender=None), claim(diagnosa="N40", gender="2"),
                 claim(diagnosa="N80.0", gender="1")],
    "X-0-06-X": [claim(discharge_status="9"), claim(discharge_status=None), claim(discharge_status="")],
    "X-0-07-X": [neonate(diagnosa="P59.9", birth_weight="0"), neonate(diagnosa="P59.9", birth_weight="9000"),
                 claim(birth_weight="berat")],
    "X-0-08-X": [claim(tgl_pulang="2024-02-28 10:00:00"), claim(icu_los="5")],
    "X-0-09-X": [outpatient(diagnosa="M16.1", procedure="81.51"), outpatient(diagnosa="O82.0", procedure="74.1")],
    "X-0-10-X": [neonate(diagnosa="P59.9", jenis_rawat="2", birth_weight="2000")],
    "X-0-13-X": [claim(diagnosa="O80", gender="1"), claim(diagnosa="O70.0", procedure="74.1"),
                 claim(diagnosa="Z37.0", procedure="74.1")],
    "X-0-15-X": [claim(diagnosa="P59.9"), neonate(days_old=28, diagnosa="P59.9")],
    "X-0-17-X": [claim(tgl_masuk=None), claim(tgl_masuk="2024-13-01 08:00:00"), claim(tgl_masuk="kemarin")],
    "X-0-18-X": [claim(jenis_rawat="3"), claim(jenis_rawat=None)],
    "X-0-19-X": [claim(tgl_pulang=""), claim(tgl_pulang="2024-02-30")],
    "X-0-20-X": [claim(tgl_lahir=None), claim(tgl_lahir="17/05/1980")],
    "X-0-21-X": [claim(adl_sub_acute="70"), claim(adl_sub_acute="11"), claim(adl_sub_acute="lima belas"),
                 outpatient(adl_sub_acute="20"), claim(diagnosa="O80", adl_sub_acute="20")],
    "X-0-22-X": [claim(adl_chronic="5"), neonate(diagnosa="P59.9", adl_chronic="30")],
    "X-0-94-X": [claim(tarif_rs="14999"), claim(tarif_rs=None), claim(tarif_rs="banyak"), claim(kode_tarif=""),
                 claim(kelas_rawat=None)],
    "X-0-95-X": [claim(diagnosa="A09#S72.00"), claim(diagnosa="XYZ")],
    "X-0-96-X": [claim(procedure="81.50"), claim(procedure="88.38#abc")],
    "X-0-98-X": [claim(kode_tarif="XX"), claim(kelas_rawat="4"), claim(icu_los="dua"),
                 claim(upgrade_class_ind="1", upgrade_class_class="vvip", upgrade_class_los="2")],
}
NOT_REACHABLE = {"X-0-97-X": "the emulator has no licence to expire"}


@pytest.mark.parametrize(("code", "index"), [(code, index) for code, claims in REACHED_BY.items()
                                             for index in range(len(claims))])
def test_each_error_group_is_reached(grouper, code, index):
    answer = grouper.group(REACHED_BY[code][index])
    assert answer["response"]["cbg"] == {"code": code, "description": load_tables().errors[code], "tariff": "0"}
    assert answer["response"]["add_payment_amt"] == 0
    assert answer["response"]["inacbg_version"] == grouper.version
    assert answer["special_cmg_option"] == [] and answer["tarif_alt"] == []


def test_special_cmg_parameters_reach_x_0_98_x(grouper):
    hip = claim(diagnosa="M16.1", procedure="81.51")
    assert cbg(grouper.group(hip, ["ZZ99"])) == "X-0-98-X"                  # no such option
    assert cbg(grouper.group(hip, ["RR04Hip", "RR04Knee"])) == "X-0-98-X"   # two prostheses
    assert cbg(grouper.group(hip, "RR04Hip#YY01")) == "M-1-04-I"            # '#'-joined string as in the manual


def test_x_0_99_x_is_an_empty_tariff_result(tmp_path):
    own = tmp_path / "tarif.csv"
    own.write_text("edition,kode_tarif,cbg_code,kelas,tariff\n2023,AP,K-4-18-I,kelas_3,2000000\n")
    assert cbg(Grouper(own).group(claim())) == "X-0-99-X"  # K-4-17-I has no row


def test_every_error_group_of_the_table_is_reached_or_excused():
    listed = set(load_tables().errors)
    assert listed == set(REACHED_BY) | {"X-0-99-X"} | set(NOT_REACHABLE)


def test_the_error_groups_of_the_casemix_slides_carry_their_descriptions():
    slides = slide_error_groups()
    assert sorted(slides) == ["X-0-01-X", "X-0-02-X", "X-0-03-X", "X-0-04-X", "X-0-05-X", "X-0-06-X", "X-0-07-X",
                              "X-0-08-X", "X-0-09-X", "X-0-10-X", "X-0-13-X", "X-0-15-X", "X-0-17-X", "X-0-18-X",
                              "X-0-19-X", "X-0-20-X", "X-0-21-X", "X-0-22-X"]
    errors = load_tables().errors
    for code, description in slides.items():
        expected = description.replace("LAMA RAWT", "LAMA RAWAT").replace("RAWAT ANAP", "RAWAT INAP")  # typos
        assert errors[code] == expected


def test_the_manuals_descriptions_of_the_grouper_failures():
    manual = manual_5_1()["grouper_failures"]["codes"]
    errors = load_tables().errors
    for code, words in (("X-0-94-X", "DATA TIDAK LENGKAP"), ("X-0-95-X", "KODE DIAGNOSIS TIDAK BERLAKU"),
                        ("X-0-96-X", "KODE PROSEDUR TIDAK BERLAKU"), ("X-0-98-X", "INVALID PARAMETER")):
        assert manual[code].startswith("GAGAL : ") and manual[code].endswith(f" : {words}")
        assert errors[code].endswith(words)
    assert errors["X-0-99-X"] == manual["X-0-99-X"] == "FAILED: EMPTY RESPONSE"


def test_each_error_row_says_which_input_reaches_it():
    for row in rows("error_groups.csv"):
        assert len(row["reached_by"]) > 20, row["code"]


GARBAGE = [None, "", " ", "abc", -1, 1.5, [], {}, True, "2024-02-30", "#", "9" * 40, "0", "1"]


@pytest.mark.parametrize("field", sorted(BASE_CLAIM))
def test_no_value_of_any_field_makes_the_grouper_raise(grouper, field):
    for value in GARBAGE:
        answer = grouper.group({**BASE_CLAIM, field: value})
        assert re.fullmatch(r"[A-Z]{1,2}-\d-\d\d-(0|I|II|III|X)", cbg(answer)), (field, value)


def test_no_pair_of_broken_fields_makes_the_grouper_raise(grouper):
    fields = ["tgl_masuk", "tgl_pulang", "tgl_lahir", "diagnosa", "procedure", "jenis_rawat", "gender"]
    for first, second in itertools.combinations(fields, 2):
        for value in ("", "x", None, 0):
            answer = grouper.group({**BASE_CLAIM, first: value, second: value}, ["RR04", value])
            assert cbg(answer).startswith("X-0-"), (first, second, value)


def test_a_claim_that_is_not_a_mapping_of_strings_still_answers(grouper):
    assert cbg(grouper.group({})) == "X-0-18-X"
    assert cbg(grouper.group({**BASE_CLAIM, "diagnosa": ["A09", "E87.1"]})) == "K-4-17-II"  # a list of codes
