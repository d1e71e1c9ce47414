"""Sub-acute (SF…) and chronic (CF…) groups from ADL scores, checked against the manual's pull_claim TXT row."""

from __future__ import annotations

from datetime import datetime

import pytest
from inacbg_cases import cbg, claim, manual_5_1, outpatient

from fhirclaim.inacbg.batch import claim_total


def manual_txt_row() -> dict[str, str]:
    """The one data row of the manual's pull_claim example, keyed by the TXT header."""
    return manual_5_1()["pull_claim_txt"]["row"]


def txt_claim(row: dict[str, str]) -> dict:
    def day(text: str) -> str:
        return datetime.strptime(text, "%d/%m/%Y").strftime("%Y-%m-%d 00:00:00")

    return claim(kelas_rawat=row["KELAS_RAWAT"], kode_tarif=row["KODE_TARIF"], jenis_rawat=row["PTD"],
                 tgl_masuk=day(row["ADMISSION_DATE"]), tgl_pulang=day(row["DISCHARGE_DATE"]),
                 tgl_lahir=day(row["BIRTH_DATE"]), birth_weight=row["BIRTH_WEIGHT"], gender=row["SEX"],
                 discharge_status=row["DISCHARGE_STATUS"], diagnosa=row["DIAGLIST"].replace(";", "#"),
                 procedure="#" if row["PROCLIST"] == "-" else row["PROCLIST"].replace(";", "#"),
                 adl_sub_acute=row["ADL1"], adl_chronic=row["ADL2"], tarif_rs=row["TARIF_RS"],
                 icu_indikator=row["ICU_INDIKATOR"], icu_los=row["ICU_LOS"], ventilator_hour=row["VENT_HOUR"])


def test_the_manuals_txt_row_is_reproduced(grouper):
    row = manual_txt_row()
    assert row["LOS"] == "191" and row["INACBG"] == "F-4-10-III"
    response = grouper.group(txt_claim(row))["response"]
    assert response["cbg"] == {"code": row["INACBG"], "description": row["DESKRIPSI_INACBG"],
                               "tariff": row["TARIF_INACBG"]}
    assert response["sub_acute"] == {"code": row["SUBACUTE"], "description": "ADL Score: 15 (191 hari)",
                                     "tariff": int(row["TARIF_SUBACUTE"])}
    assert response["chronic"] == {"code": row["CHRONIC"], "description": "ADL Score: 12 (191 hari)",
                                   "tariff": int(row["TARIF_CHRONIC"])}
    assert claim_total(response) == int(row["TOTAL_TARIF"]) == 18_385_400


@pytest.mark.parametrize(("score", "level"), [("12", "I"), ("15", "I"), ("23", "I"), ("24", "II"), ("35", "II"),
                                              ("36", "III"), ("60", "III"), (41, "III"), ("15.0", "I")])
def test_adl_bands(grouper, score, level):
    response = grouper.group(claim(diagnosa="I63.9", adl_sub_acute=score, adl_chronic=score))["response"]
    assert response["sub_acute"]["code"] == f"SF-4-10-{level}"
    assert response["chronic"]["code"] == f"CF-4-10-{level}"
    assert response["sub_acute"]["description"] == f"ADL Score: {int(float(score))} (4 hari)"


def test_sub_acute_tariffs_are_flat_across_classes_and_positive(grouper):
    tariffs = {grouper.group(claim(diagnosa="I63.9", adl_sub_acute="15", kelas_rawat=kelas))["response"]
               ["sub_acute"]["tariff"] for kelas in "123"}
    assert len(tariffs) == 1 and tariffs.pop() > 0


@pytest.mark.parametrize("score", ["0", "", None])
def test_no_score_no_group(grouper, score):
    response = grouper.group(claim(adl_sub_acute=score, adl_chronic=score))["response"]
    assert "sub_acute" not in response and "chronic" not in response


@pytest.mark.parametrize(("sent", "code"), [
    (claim(adl_sub_acute="61"), "X-0-21-X"),
    (claim(adl_sub_acute="-3"), "X-0-21-X"),
    (claim(adl_sub_acute="12.5"), "X-0-21-X"),
    (outpatient(adl_sub_acute="20"), "X-0-21-X"),
    (claim(diagnosa="O80", adl_sub_acute="20"), "X-0-21-X"),
    (claim(adl_chronic="61"), "X-0-22-X"),
    (outpatient(adl_chronic="20"), "X-0-22-X"),
    (claim(diagnosa="O80", adl_chronic="20"), "X-0-22-X"),
])
def test_misplaced_scores(grouper, sent, code):
    assert cbg(grouper.group(sent)) == code
