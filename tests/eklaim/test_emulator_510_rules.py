"""The 5.10 emulator's rules: what real 5.10 servers refuse (E2044 coding and unknown parameters, E2051, E2014,
class upgrades, the order of the coding steps, E2039), the coding notation, the grouper's metadata, the look-ups,
and 5.1 mode left as it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from emulator510_kit import CODER_NIK, Ws, claim_data, walk

from fhirclaim.cli import main
from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator import EmulatorConfig, create_emulator_app

SEP = "0901R0011124V000001"
CODING_REFUSED = "Parameter tidak berlaku: diagnosa, procedure, diagnosa_inagrouper, procedure_inagrouper"


@pytest.fixture
def ws(make_app, key) -> Ws:
    return Ws(make_app(protocol="5.10"), key)


def error_of(answer):
    return answer["metadata"].get("error_no"), answer["metadata"]["message"]


def set_data(ws: Ws, **changes):
    data = {**claim_data(), "nomor_sep": SEP, **changes}
    return ws.method("set_claim_data", {"nomor_sep": SEP}, **{k: v for k, v in data.items() if v is not None})


def claim(ws: Ws):
    return ws.method("get_claim_data", nomor_sep=SEP)["response"]["data"]


# --- set_claim_data -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("parameter", ["diagnosa", "procedure", "diagnosa_inagrouper", "procedure_inagrouper"])
def test_coding_in_set_claim_data_is_e2044_with_the_real_text(ws, parameter):
    walk(ws, SEP, "new_claim")
    assert error_of(set_data(ws, **{parameter: "S71.0"})) == ("E2044", CODING_REFUSED)
    assert claim(ws)["tgl_masuk"] == "", "nothing of the refused call was stored"


def test_unknown_parameters_are_refused_by_name_never_dropped(ws):
    walk(ws, SEP, "new_claim")
    answer = set_data(ws, nomer_kartu="0001", tarif_rs={**claim_data()["tarif_rs"], "obat_lain": "5"})
    assert error_of(answer) == ("E2044", "Parameter tidak berlaku: nomer_kartu, tarif_rs.obat_lain")
    assert claim(ws)["tgl_masuk"] == ""
    in_data = ws.method("idrg_diagnosa_set", {"nomor_sep": SEP}, diagnosa="S71.0", nomor_sep=SEP)
    assert error_of(in_data) == ("E2044", "Parameter tidak berlaku: nomor_sep")
    wrong = ws.method("generate_claim_number", payor_id="71")  # the manual's "request body yang salah"
    assert error_of(wrong) == ("E2044", "Parameter tidak berlaku: payor_id")


def test_payor_id_is_mandatory_e2051(ws):
    walk(ws, SEP, "new_claim")
    assert error_of(set_data(ws, payor_id=None))[0] == "E2051"
    assert error_of(set_data(ws, payor_id="JKN"))[0] == "E2051"
    assert set_data(ws)["metadata"]["code"] == 200


def test_a_kode_tarif_other_than_the_hospitals_is_e2014(make_app, key):
    ws = Ws(make_app(protocol="5.10", kode_tarif="BP"), key)
    walk(ws, SEP, "new_claim")
    assert error_of(set_data(ws, kode_tarif="AP")) == ("E2014", "Kode tarif invalid")
    assert set_data(ws, kode_tarif="BP")["metadata"]["code"] == 200
    assert claim(ws)["kode_tarif"] == "BP"


@pytest.mark.parametrize(("changes", "error_no"), [
    ({"kelas_rawat": "3", "upgrade_class_class": "kelas_2"}, "E2065"),
    ({"kelas_rawat": "2", "upgrade_class_class": "vip"}, "E2032"),
    ({"kelas_rawat": "2", "upgrade_class_class": "kelas_1", "upgrade_class_payor": None}, "E2064"),
    ({"kelas_rawat": "2", "upgrade_class_class": "kelas_1", "upgrade_class_los": "9"}, "E2062"),
], ids=["from-kelas-3", "two-classes-up", "no-payor", "longer-than-the-stay"])
def test_class_upgrade_rules(ws, changes, error_no):
    walk(ws, SEP, "new_claim")
    upgrade = {"upgrade_class_ind": "1", "upgrade_class_los": "2", "upgrade_class_payor": "peserta", **changes}
    assert error_of(set_data(ws, **upgrade))[0] == error_no
    allowed = {**upgrade, "kelas_rawat": "2", "upgrade_class_class": "kelas_1", "upgrade_class_los": "2",
               "upgrade_class_payor": "peserta"}
    assert set_data(ws, **allowed)["metadata"]["code"] == 200
    assert claim(ws)["upgrade_class_payor"] == "peserta"


def test_claim_data_are_fixed_once_the_idrg_coding_is_final(ws):
    walk(ws, SEP, "idrg_final")
    assert error_of(set_data(ws)) == ("E2102", "iDRG coding sudah final")
    assert ws.method("idrg_grouper_reedit", nomor_sep=SEP)["metadata"]["code"] == 200
    assert set_data(ws, tgl_pulang="2024-11-13 09:00:00")["metadata"]["code"] == 200
    assert error_of(ws.method("idrg_grouper_final", nomor_sep=SEP))[0] == "E2017", "new data need a new grouping"


# --- the order of the coding steps --------------------------------------------------------------------------------

@pytest.mark.parametrize(("at", "message", "error_no"), [
    ("idrg_grouped", {"metadata": {"method": "inacbg_diagnosa_set", "nomor_sep": SEP}, "data": {"diagnosa": "S71.0"}},
     "E2103"),
    ("idrg_grouped", {"metadata": {"method": "grouper", "stage": 1, "grouper": "inacbg"}, "data": {"nomor_sep": SEP}},
     "E2103"),
    ("idrg_coding", {"metadata": {"method": "idrg_grouper_final"}, "data": {"nomor_sep": SEP}}, "E2017"),
    ("imported", {"metadata": {"method": "inacbg_grouper_final"}, "data": {"nomor_sep": SEP}}, "E2017"),
    ("imported", {"metadata": {"method": "inacbg_grouper_reedit"}, "data": {"nomor_sep": SEP}}, "E2104"),
    ("idrg_grouped", {"metadata": {"method": "claim_final"}, "data": {"nomor_sep": SEP, "coder_nik": CODER_NIK}},
     "E2103"),
    ("inacbg_final", {"metadata": {"method": "idrg_grouper_reedit"}, "data": {"nomor_sep": SEP}}, "E2102"),
    ("claim_final", {"metadata": {"method": "idrg_diagnosa_set", "nomor_sep": SEP}, "data": {"diagnosa": "S71.0"}},
     "E2009"),
    ("claim_final", {"metadata": {"method": "grouper", "stage": 1, "grouper": "idrg"}, "data": {"nomor_sep": SEP}},
     "E2009"),
    ("new_claim", {"metadata": {"method": "grouper", "stage": 1, "grouper": "idrg"}, "data": {"nomor_sep": SEP}},
     "E2014"),
])
def test_a_step_out_of_order_is_refused(ws, at, message, error_no):
    walk(ws, SEP, at)
    assert error_of(ws(message))[0] == error_no


def test_changing_the_idrg_coding_drops_its_grouping(ws):
    walk(ws, SEP, "idrg_grouped")
    ws.method("idrg_diagnosa_set", {"nomor_sep": SEP}, diagnosa="S72.0#A00.1")
    assert error_of(ws.method("idrg_grouper_final", nomor_sep=SEP))[0] == "E2017"
    assert "response_idrg" not in claim(ws)["grouper"]


def test_a_sent_claim_cannot_be_re_edited_e2039(ws):
    walk(ws, SEP, "claim_final")
    assert ws.method("reedit_claim", nomor_sep=SEP)["metadata"]["code"] == 200, "not sent yet: re-edit allowed"
    assert ws.method("claim_final", nomor_sep=SEP, coder_nik=CODER_NIK)["metadata"]["code"] == 200
    ws.method("send_claim_individual", nomor_sep=SEP)
    assert error_of(ws.method("reedit_claim", nomor_sep=SEP)) == ("E2039", "Error : Gagal edit ulang, klaim sudah "
                                                                           "dikirim")


# --- the grouper's metadata -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("metadata", "error_no"), [
    ({"stage": 1}, "E2030"), ({"grouper": "idrg"}, "E2030"), ({"stage": 1, "grouper": "unu"}, "E2044"),
    ({"stage": "3", "grouper": "idrg"}, "E2044"),
])
def test_grouper_metadata_must_name_a_grouper_and_a_stage(ws, metadata, error_no):
    walk(ws, SEP, "idrg_coding")
    assert error_of(ws.method("grouper", metadata, nomor_sep=SEP))[0] == error_no


def test_stage_is_honoured_as_number_or_string_and_stage_2_needs_stage_1(ws):
    walk(ws, SEP, "imported")
    assert error_of(ws.method("grouper", {"stage": "2", "grouper": "inacbg"}, nomor_sep=SEP))[0] == "E2017"
    one = ws.method("grouper", {"stage": 1, "grouper": "inacbg"}, nomor_sep=SEP)
    offered = [option["code"] for option in one["special_cmg_option"]]
    assert "special_cmg" not in one["response_inacbg"]
    two = ws.method("grouper", {"stage": "2", "grouper": "inacbg"}, nomor_sep=SEP, special_cmg="#".join(offered[1:]))
    response = two["response_inacbg"]
    assert [item["type"] for item in response["special_cmg"]]
    assert int(response["tariff"]) == int(response["base_tariff"]) + sum(
        int(extra["tariff"]) for extra in [*response["special_cmg"], response.get("sub_acute", {}),
                                           response.get("chronic", {})] if extra)
    assert response["inacbg_version"].startswith("5.10.")


def test_idrg_stage_2_grants_the_topups_offered(ws):
    walk(ws, SEP, "idrg_grouped", diagnosa="M16.1", procedure="81.53")
    one = ws.method("grouper", {"stage": 1, "grouper": "idrg"}, nomor_sep=SEP)["response_idrg"]
    assert (one["drg_code"], one["cost_weight"], one["topup_options"][0]["code"]) == ("1807119", "5.14", "13031")
    two = ws.method("grouper", {"stage": "2", "grouper": "idrg"}, nomor_sep=SEP, topup_codes="13031#99999")
    assert [topup["code"] for topup in two["response_idrg"]["topup"]] == ["13031"]


# --- coding notation ----------------------------------------------------------------------------------------------

def test_multiplicity_setting_clearing_and_unchanged(ws):
    walk(ws, SEP, "new_claim")
    sep = {"nomor_sep": SEP}
    answer = ws.method("idrg_procedure_set", sep, procedure="86.22+2#86.22#12.345#88.01+x#88.01+0")
    assert answer["data"]["string"] == "86.22+2#86.22", "unknown codes and bad multiplicities are not stored"
    assert [(e["code"], e["multiplicity"]) for e in answer["data"]["expanded"]] == [("86.22", 2), ("86.22", 1)]
    assert ws.method("idrg_procedure_set", sep, procedure="")["data"]["string"] == "86.22+2#86.22"
    assert ws.method("idrg_procedure_set", sep, procedure="#")["data"] == {"string": "", "expanded": []}
    refused = ws.method("idrg_diagnosa_set", sep, diagnosa=["S71.0"])
    assert error_of(refused) == ("E2044", "Parameter tidak berlaku: diagnosa")


def test_im_codes_are_idrg_only(ws):
    walk(ws, SEP, "idrg_final", diagnosa="S71.0#A00.1", procedure="81.52#90.090")
    answer = ws.method("inacbg_procedure_set", {"nomor_sep": SEP}, procedure="81.52+2#90.090#90.09")
    assert answer["data"]["string"] == "90.09", "an IM code or a multiplicity is not stored in the INA-CBG coding"


def test_tb_needs_a_validated_sitb_register_before_idrg_grouping(ws):
    walk(ws, SEP, "idrg_coding", diagnosa="A15.0", procedure="#")
    stage_1 = {"stage": 1, "grouper": "idrg"}
    assert error_of(ws.method("grouper", stage_1, nomor_sep=SEP)) == (
        "E2063", "Error: Pasien dengan TB belum ada validasi SITB.")
    invalid = ws.method("sitb_validate", nomor_sep=SEP, nomor_register_sitb="12")
    assert invalid["response"] == {"status": "INVALID", "detail": "Nomor register tidak ditemukan"}
    valid = ws.method("sitb_validate", nomor_sep=SEP, nomor_register_sitb="00000001")
    assert valid["validation"]["data"][0]["nama"] == "PASIEN UJICOBA"
    assert ws.method("grouper", stage_1, nomor_sep=SEP)["response_idrg"]["mdc_number"] == "14"
    ws.method("sitb_invalidate", nomor_sep=SEP)
    assert error_of(ws.method("grouper", stage_1, nomor_sep=SEP))[0] == "E2063"


# --- look-ups -----------------------------------------------------------------------------------------------------

def test_code_search_both_editions(ws):
    inacbg = ws.method("search_diagnosis", keyword="D63")["response"]
    assert ["Anaemia in neoplastic disease", "D63.0"] in inacbg["data"] and inacbg["count"] == len(inacbg["data"])
    idrg = ws.method("search_diagnosis_inagrouper", keyword="D63")["response"]["data"]
    assert {"description": "Anaemia due to liver and endocrine disorders (IM)", "code": "D63.1", "validcode": "1",
            "im": "1"} in idrg
    assert ws.method("search_procedures", keyword="99.0")["response"]["count"] > 0
    assert error_of(ws.method("search_procedures_inagrouper", keyword=""))[0] == "E2030"


def test_generate_claim_number_counts_per_month(ws):
    first = ws.method("generate_claim_number")["response"]["claim_number"]
    second = ws.method("generate_claim_number")["response"]["claim_number"]
    assert (first, second) == ("3174282ICC24110001", "3174282ICC24110002")  # the clock: 10 Nov 2024


def test_pull_claim_is_gone_in_5_10(ws):
    answer = ws.method("pull_claim", start_dt="2024-11-01", stop_dt="2024-11-30")
    assert error_of(answer) == ("E2001", "Method tidak ada")


# --- 5.1 mode, configuration, command line ------------------------------------------------------------------------

def test_5_1_mode_keeps_the_2017_protocol(make_app, key):
    ws = Ws(make_app(protocol="5.1"), key)
    assert error_of(ws.method("idrg_diagnosa_set", {"nomor_sep": SEP}, diagnosa="S71.0"))[0] == "E2001"
    walk(ws, SEP, "new_claim")
    data = {**claim_data(), "nomor_sep": SEP, "diagnosa": "S71.0#A00.1", "procedure": "81.52",
            "nomer_kartu": "ignored, as in 2017"}
    assert ws.method("set_claim_data", {"nomor_sep": SEP}, **data)["metadata"]["code"] == 200
    grouped = ws.method("grouper", {"stage": 1}, nomor_sep=SEP)
    assert "response" in grouped and "response_inacbg" not in grouped
    assert ws.method("pull_claim", start_dt="2024-11-01", stop_dt="2024-11-30")["metadata"]["code"] == 200


def test_the_protocol_setting(key):
    assert EmulatorConfig(key_hex=key).protocol == "5.10"
    with pytest.raises(ValueError, match="protocol"):
        EmulatorConfig(key_hex=key, protocol="5.9")
    app = create_emulator_app(EmulatorConfig(key_hex=key), protocol="5.1")
    try:
        assert app.config.protocol == "5.1"
    finally:
        app.close()


def test_the_command_line_options(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(main, ["eklaim-emulator", "--help"]).output
    assert "--protocol [5.10|5.1]" in help_text and "--kode-tarif" in help_text
    bad = runner.invoke(main, ["eklaim-emulator", "--protocol", "5.9"])
    assert bad.exit_code == 2
    unknown = runner.invoke(main, ["eklaim-emulator", "--port", "0", "--data-dir", str(tmp_path),
                                   "--kode-tarif", "ZZ"])
    assert unknown.exit_code == 2 and "--kode-tarif wants one of AP" in unknown.output


def test_the_standalone_emulator_speaks_5_10_with_the_hospitals_kode_tarif(tmp_path):
    """`fhirclaim eklaim-emulator --kode-tarif BP` (build 5.10 by default), reached over HTTP as a SIMRS does."""
    key_file = tmp_path / "eklaim.key"
    key_file.write_text(crypto.generate_key())
    process = subprocess.Popen(
        [sys.executable, "-c", "from fhirclaim.cli import main; main()", "eklaim-emulator", "--port", "0",
         "--data-dir", str(tmp_path / "data"), "--key-file", str(key_file), "--coder", f"{CODER_NIK}:INACBG",
         "--kode-tarif", "bp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = ""
        for line in process.stdout:
            if "listening at" in line:
                break
        assert "(build 5.10)" in line, line + process.stderr.read()
        url = re.search(r"(http://\S+)", line).group(1)
        ws = Ws(None, key_file.read_text(), url)
        walk(ws, SEP, "new_claim")
        assert error_of(set_data(ws, kode_tarif="AP"))[0] == "E2014"
        walk(ws, "0901R0011124V000002", "sent", kode_tarif="BP")  # the whole 5.10 flow
    finally:
        process.terminate()
        assert process.wait(10) == 0
