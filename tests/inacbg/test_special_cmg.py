"""Special CMG (top-up) options in stage 1 and their tariffs in stage 2, against the manual and real answers."""

from __future__ import annotations

import json
import re

import pytest
from inacbg_cases import cbg, claim, manual_5_1, outpatient, stay_2016

from fhirclaim.inacbg.grouper_tables import load_tables

from testkit import load_fixture

HIP_2016 = stay_2016(kelas_rawat="2", diagnosa="S71.0#A00.1", procedure="81.52#88.38")


def manual_answer(stage: int) -> dict:
    """The manual's grouper answer of stage 1 or 2 without metadata, sub_acute and chronic."""
    answer = manual_5_1()[f"grouper_stage{stage}"]["answer"]
    answer = {key: answer[key] for key in ("response", "special_cmg_option", "tarif_alt")}
    answer["response"] = {key: value for key, value in answer["response"].items()
                          if key not in ("sub_acute", "chronic")}
    return answer


def without_version(answer: dict) -> dict:
    return {**answer, "response": {key: value for key, value in answer["response"].items()
                                   if key not in ("inacbg_version", "add_payment_amt")}}


def test_stage_1_offers_the_manuals_options(grouper):
    expected = manual_answer(1)
    answer = grouper.group(HIP_2016)
    assert answer["special_cmg_option"] == expected["special_cmg_option"]
    assert without_version(answer) == without_version(expected)


def test_stage_2_reproduces_the_manuals_answer(grouper):
    expected = manual_answer(2)
    answer = grouper.group(HIP_2016, ["RR04", "YY01"])
    assert without_version(answer) == without_version(expected)
    assert answer["response"]["special_cmg"] == [
        {"code": "YY-01-II", "description": "HIP REPLACEMENT / KNEE REPLACEMENT", "tariff": 13099000,
         "type": "Special Procedure"},
        {"code": "RR-04-III", "description": "HIP IMPLANT / KNEE IMPLANT", "tariff": 26197900,
         "type": "Special Prosthesis"}]
    assert answer["tarif_alt"][1] == {"kelas": "kelas_2", "tarif_inacbg": "40388100", "tarif_sp": 13099000,
                                      "tarif_sr": 26197900}
    assert grouper.version == "5.1.0-emulated.1" == answer["response"]["inacbg_version"]
    assert expected["response"]["add_payment_amt"] == 18792000  # not reproducible: see test_upgrade.py


def test_the_manuals_value_types(grouper):
    answer = grouper.group(HIP_2016, "RR04#YY01")
    assert isinstance(answer["response"]["cbg"]["tariff"], str)
    assert isinstance(answer["response"]["special_cmg"][0]["tariff"], int)
    assert isinstance(answer["response"]["add_payment_amt"], int)
    assert isinstance(answer["tarif_alt"][0]["tarif_inacbg"], str)
    assert isinstance(answer["tarif_alt"][0]["tarif_sp"], int)


def real_5_10_answers() -> list[dict]:
    collection = load_fixture("eklaim/postman_E-KLAIM_IDRG.postman_collection.json")
    found = []

    def walk(items):
        for item in items:
            walk(item.get("item", []))
            if re.search(r"GROUPING INACBG STAGE [12]$", item.get("name", "")):
                found.extend(json.loads(saved["body"]) for saved in item.get("response", [])
                             if saved["name"].endswith("SUCCESS"))
    walk(collection["item"])
    return found


def test_stage_1_and_2_like_a_real_5_10_server(grouper):
    """Postman collection against a real E-Klaim 5.10 (2025): S71.0#A00.1, 81.52#86.22#90.09, kelas 3, AP."""
    stage1, stage2 = real_5_10_answers()
    sent = claim(tgl_masuk="2025-04-15 08:00:00", tgl_pulang="2025-04-15 10:00:00", diagnosa="S71.0#A00.1",
                 procedure="81.52#86.22#90.09")
    ours = grouper.group(sent)
    assert ours["response"]["cbg"] == {**stage1["response_inacbg"]["cbg"],
                                       "tariff": stage1["response_inacbg"]["base_tariff"]}
    assert ours["special_cmg_option"] == stage1["special_cmg_option"]
    ours = grouper.group(sent, ["RR04Knee", "YY01"])
    theirs = stage2["response_inacbg"]
    assert [(s["code"], s["tariff"], s["type"]) for s in ours["response"]["special_cmg"]] == [
        (s["code"], s["tariff"], s["type"]) for s in theirs["special_cmg"]]
    total = int(ours["response"]["cbg"]["tariff"]) + sum(s["tariff"] for s in ours["response"]["special_cmg"])
    assert str(total) == theirs["tariff"] == "65070000"


def test_an_option_that_was_not_offered_is_not_granted(grouper):
    response = grouper.group(HIP_2016, ["RR04", "DD02"])["response"]  # DD02 is for thalassaemia
    assert [special["code"] for special in response["special_cmg"]] == ["RR-04-III"]


def test_no_options_no_special_cmg_key_in_stage_1(grouper):
    answer = grouper.group(claim())
    assert answer["special_cmg_option"] == []
    assert "special_cmg" not in answer["response"]
    assert grouper.group(claim(), ["DD02"])["response"]["special_cmg"] == []


@pytest.mark.parametrize(("sent", "offered"), [
    (claim(diagnosa="A41.9"), ["DD05"]),                                     # albumin: septicaemia as principal
    (claim(diagnosa="J18.9#A41.9"), []),                                     # ... only as principal
    (claim(diagnosa="I21.0", procedure="99.10"), ["DD01"]),                  # streptokinase
    (claim(diagnosa="I21.0"), []),                                           # ... needs the injection coded
    (claim(diagnosa="D56.1"), ["DD02", "DD03", "DD04"]),                     # thalassaemia inpatient
    (outpatient(diagnosa="D56.1"), ["DD02", "DD03", "DD04"]),                # ... and outpatient (Q-5-44-0)
    (claim(diagnosa="D66"), ["DD06"]),
    (claim(diagnosa="T20.3"), ["DD07"]),
    (claim(diagnosa="N18.5", procedure="54.98"), ["DD08"]),                  # CAPD, any CBG
    (outpatient(diagnosa="G40.9", procedure="88.93"), ["II01"]),
    (outpatient(diagnosa="H36.0", procedure="95.12"), []),                   # asterisk principal: X-0-01-X
    (outpatient(diagnosa="E11.3", procedure="95.12"), ["II02"]),
    (outpatient(diagnosa="C73", procedure="92.05"), ["IJ01"]),
    (outpatient(diagnosa="C34.9", procedure="92.18"), ["IJ02"]),
    (claim(diagnosa="I21.0", procedure="36.06"), ["YY02"]),
    (claim(diagnosa="H18.6", procedure="11.64"), ["YY03"]),
    (claim(diagnosa="K86.1", procedure="52.52"), ["YY04"]),
    (claim(diagnosa="Q21.1", procedure="35.52"), ["YY05"]),
    (claim(diagnosa="Z51.0", procedure="92.31"), ["YY06"]),
    (claim(diagnosa="J86.9", procedure="34.02"), ["YY07"]),
    (claim(diagnosa="C34.1", procedure="32.41"), ["YY08"]),
    (claim(diagnosa="H33.0", procedure="14.74"), ["YY09"]),
    (outpatient(diagnosa="H25.9", procedure="13.41"), ["YY10"]),
    (outpatient(diagnosa="J38.1", procedure="31.42"), ["YY11"]),
    (outpatient(diagnosa="K80.5", procedure="51.10"), ["YY12"]),
    (claim(diagnosa="I67.1", procedure="39.75"), ["YY13"]),
    (claim(diagnosa="I63.4", procedure="39.74"), ["YY14"]),
    (claim(diagnosa="E43", procedure="43.11"), ["YY15"]),
    (outpatient(diagnosa="K01.1", procedure="23.19"), ["YY16"]),
    (outpatient(diagnosa="Z51.0", procedure="92.27"), ["YY17"]),
    (claim(diagnosa="G40.2", procedure="02.93"), ["RR01"]),
    (claim(diagnosa="Q20.0", procedure="35.92"), ["RR02"]),
    (claim(diagnosa="K07.6", procedure="76.5"), ["RR03"]),
    (claim(diagnosa="I71.4", procedure="39.71"), ["RR05"]),
    (claim(diagnosa="M17.1", procedure="81.54"), ["RR04Hip", "RR04Knee", "YY01"]),
])
def test_each_special_cmg_rule(grouper, sent, offered):
    answer = grouper.group(sent)
    assert [option["code"] for option in answer["special_cmg_option"]] == offered, cbg(answer)
    if offered:
        chosen = [offered[0]]
        granted = grouper.group(sent, chosen)["response"]["special_cmg"]
        special = next(row for row in load_tables().specials
                       if row.option_code == offered[0] and "2023" in row.editions)
        assert granted == [{"code": special.group_code, "description": special.group_description,
                            "tariff": granted[0]["tariff"], "type": special.type}]
        assert granted[0]["tariff"] > 0


def test_every_option_of_the_table_is_offered_somewhere():
    names = {option for (_, offered) in test_each_special_cmg_rule.pytestmark[0].args[1] for option in offered}
    editions_2023 = {row.option_code for row in load_tables().specials if "2023" in row.editions}
    assert editions_2023 == names
