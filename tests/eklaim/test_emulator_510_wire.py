"""The 5.10 emulator against real 5.10 answers: every request of the Postman collection of real servers (in its
order, over real HTTP, encrypted) and of the 5.10 manual gets an answer with the real keys and value types, and
every saved real failure is reproduced by the same faulty request."""

from __future__ import annotations

import base64
import json

import pytest
from emulator510_kit import (
    CODER_NIK,
    MANUAL_PDF,
    POSTMAN,
    Ws,
    assert_same_shape,
    claim_data,
    manual_example,
    postman_answer,
    postman_item,
    walk,
    with_sep,
)

SEP = "UJICOBA5"


@pytest.fixture
def app510(make_app):
    return make_app(protocol="5.10")


@pytest.fixture
def ws(app510, key) -> Ws:
    return Ws(app510, key)


def test_the_postman_sequence_over_http_answers_like_real_servers(app510, key, serve):
    """#00 NEW CLAIM … #21 GET CLAIM DATA in the collection's order; the re-edits are followed by a new final."""
    ws = Ws(app510, key, serve(app510))
    requests_by_step = {
        "#01": {**postman_item("#01")["request"], "data": {**claim_data(), "nomor_sep": SEP}},
        "#04": {"data": {"procedure": "81.52#86.22+5#86.22+3#90.090"}},
        "#12": {"data": {"procedure": "81.52#86.22#90.09"}},
    }
    for item in POSTMAN["item"]:
        step = item["name"][:3]
        request, real = postman_answer(step, "SUCCESS")
        request = with_sep(_request_of(item, requests_by_step.get(step)), SEP)
        if step == "#15":  # stage 2 chooses among what our stage 1 offered, as the real one did among its own
            request["data"]["special_cmg"] = "RR04Knee#YY01"
        answer = ws(request)
        assert answer["metadata"]["code"] == 200, (step, answer)
        assert_same_shape(answer, real, path=step)
        _refinalise(ws, step)
    answer = ws.method("get_claim_data", nomor_sep=SEP)["response"]["data"]
    assert answer["procedure_inagrouper"] == "81.52#86.22+5#86.22+3#90.090"  # the iDRG coding, as real
    assert answer["procedure"] == "81.52#86.22#90.09"  # the INA-CBG coding
    assert answer["grouper"]["response_idrg"]["status_cd"] == "final"
    assert answer["grouper"]["response_inacbg"]["special_cmg"][0]["code"] == "YY-01-II"
    assert answer["kemenkes_dc_status_cd"] == "sent" and answer["klaim_status_cd"] == "final"


def _request_of(item, override):
    request = json.loads(item["request"]["body"]["raw"])
    if override:
        request = {**request, **{key: value for key, value in override.items() if key in ("metadata", "data")}}
    return request


def _refinalise(ws: Ws, step: str) -> None:
    """After a re-edit step, finalise again so that the next step of the collection finds what it expects."""
    again = {"#08": "idrg_grouper_final", "#17": "inacbg_grouper_final", "#19": "claim_final"}.get(step)
    if again:
        coder = {"coder_nik": CODER_NIK} if again == "claim_final" else {}
        assert ws.method(again, nomor_sep=SEP, **coder)["metadata"]["code"] == 200


def test_the_import_numbers_and_flags_codes_exactly_as_the_real_answer(ws):
    """Real: "81.52#86.22#90.090", the repeated 86.22 once, IM code 90.090 as "no" 4 with E2101."""
    walk(ws, SEP, "idrg_final")
    _, real = postman_answer("#09", "SUCCESS")
    answer = ws.method("idrg_to_inacbg_import", nomor_sep=SEP)
    for kind in ("diagnosa", "procedure"):
        ours, theirs = answer["data"][kind], real["data"][kind]
        assert ours["string"] == theirs["string"]
        assert [(e["code"], e["no"], e["validcode"], e["metadata"]) for e in ours["expanded"]] == \
            [(e["code"], e["no"], e["validcode"], e["metadata"]) for e in theirs["expanded"]]


# --- the saved real failures, reproduced by the same faulty request ---------------------------------------------

FAILURES = [  # (saved answer, step the claim is at first, or None for an unknown SEP)
    ("#01", "new_claim"), ("#02", "idrg_final"), ("#03", None), ("#04", "idrg_final"), ("#05", None),
    ("#06", "idrg_final"), ("#08", "idrg_grouped"), ("#09", "idrg_grouped"), ("#11", "inacbg_final"),
    ("#12", "inacbg_final"), ("#14", "inacbg_final"), ("#15", "inacbg_final"), ("#18", "inacbg_grouped"),
    ("#19", None), ("#20", "inacbg_final"), ("#21", None),
]


@pytest.mark.parametrize(("step", "at"), FAILURES, ids=[step for step, _ in FAILURES])
def test_a_saved_real_failure_is_reproduced(ws, step, at):
    request, real = postman_answer(step, "FAILED")
    if at is not None:
        walk(ws, SEP, at)
        request = with_sep(request, SEP)
    assert ws(request) == real


def test_duplicate_sep_answers_e2007_with_the_real_duplicate_list(ws):
    walk(ws, SEP, "new_claim")
    request, real = postman_answer("#00", "FAILED")
    answer = ws(with_sep(request, SEP))
    assert answer["metadata"] == real["metadata"]
    assert_same_shape(answer, real)
    assert answer["duplicate"][0]["nama_pasien"] == "PASIEN UJICOBA"


def test_an_ungroupable_idrg_result_cannot_be_finalised_e2105(ws):
    """A woman's obstetric principal coded on a man: MDC 36, and the real E2105 answer on idrg_grouper_final."""
    walk(ws, SEP, "idrg_grouped", diagnosa="O80.9", procedure="#", gender="1")
    grouped = ws.method("get_claim_data", nomor_sep=SEP)["response"]["data"]["grouper"]["response_idrg"]
    assert (grouped["mdc_number"], grouped["drg_code"]) == ("36", "3611199")
    request, real = postman_answer("#07", "FAILED")
    assert ws(with_sep(request, SEP)) == real


# --- the manual's examples ---------------------------------------------------------------------------------------

def test_the_manual_examples_in_order_answer_with_the_manuals_keys(ws):
    """Sections 01-34 of the 5.10 manual on its claim 000R222TEST (steps without an example answer only pass).
    Where the manual's markdown and real answers disagree the real one is the reference (see each comment)."""
    sep = "000R222TEST"
    # 01: the manual's patient_id is a number, real servers send a string (Postman #00)
    created = ws(with_sep(manual_example("01-new-claim.md", "Request Body"), sep))
    assert_same_shape(created, postman_answer("#00", "SUCCESS")[1])
    assert ws(_manual_request("04-set-claim-data.md", sep))["metadata"]["code"] == 200  # kelas 1 → VIP, 5 of 7 days
    for section in ("05-idrg-diagnosa-set.md", "06-idrg-diagnosa-get.md", "07-idrg-procedure-set.md",
                    "09-grouping-idrg-stage1.md", "10-grouping-idrg-stage2.md"):
        answer = ws(_manual_request(section, sep))
        assert_same_shape(answer, manual_example(section), path=section, newer=frozenset())
    # 08: the manual's request calls inacbg_procedure_get, and its answer says "multiplicity"; real servers say
    # "multiply" in idrg_procedure_get (Postman #05), which is what the emulator answers
    assert_same_shape(ws.method("idrg_procedure_get", nomor_sep=sep), postman_answer("#05", "SUCCESS")[1])
    for section in ("11-finalisasi-idrg.md", "12-reedit-idrg.md", "11-finalisasi-idrg.md",
                    "13-import-idrg-inacbg.md", "14-inacbg-diagnosa-set.md", "15-inacbg-procedure-set.md",
                    "16-grouping-inacbg-stage1.md", "17-grouping-inacbg-stage2.md", "18-finalisasi-inacbg.md",
                    "19-reedit-inacbg.md", "18-finalisasi-inacbg.md"):
        answer = ws(_manual_request(section, sep))
        assert_same_shape(answer, manual_example(section), path=section, newer=frozenset())
    for section in ("20-finalisasi-klaim.md", "21-reedit-klaim.md", "20-finalisasi-klaim.md"):
        assert ws(_manual_request(section, sep, "Request Body")) == {"metadata": {"code": 200, "message": "Ok"}}
    # 22 send_claim: the markdown shows {nomor_sep, tgl_pulang} + count, the PDF of the same manual SEP and the DC
    # statuses; no real answer was saved, the emulator keeps the PDF's (and the 2017 manual's) form
    collective = ws.method("send_claim", start_dt="2023-01-01", stop_dt="2023-01-31", jenis_rawat="3")
    assert [sent["SEP"] for sent in collective["response"]["data"]] == [sep]
    assert_same_shape(collective, MANUAL_PDF["send_claim"]["json"][1])
    # 23 send_claim_individual: the markdown shows only metadata; real servers answer the data (Postman #20)
    assert_same_shape(ws.method("send_claim_individual", nomor_sep=sep), postman_answer("#20", "SUCCESS")[1])
    # 24 get_claim_data: the markdown repeats the 2017 form; the PDF and real servers answer the 5.10 one
    assert_same_shape(ws.method("get_claim_data", nomor_sep=sep), postman_answer("#21", "SUCCESS")[1])
    # 25 get_claim_status: the markdown's status_kirim form is the 2016 one; the PDF shows the VClaim proxy's
    assert ws.method("get_claim_status", nomor_sep=sep)["metadata"]["error_no"] == "E2020"  # BPJS said nothing
    ws.app.set_bpjs_claim_status(sep, "40", "40_Proses_Cabang")
    status = ws(_manual_request("25-get-claim-status.md", sep, "Request Body"))
    assert status == MANUAL_PDF["get_claim_status"]["json"][1]
    printed = ws(_manual_request("27-cetak-klaim.md", sep, "Request Body"))
    assert base64.b64decode(printed["data"]).startswith(b"%PDF")
    for section in ("28-search-diagnosa-idrg.md", "29-search-prosedur-idrg.md", "30-search-diagnosa-inacbg.md",
                    "31-search-prosedur-inacbg.md", "32-generate-claim-number.md"):
        answer = ws(_manual_request(section, sep, "Request Body" if section[:2] != "32" else "Request body"))
        assert_same_shape(answer, manual_example(section), path=section, newer=frozenset())
    wrong = ws(manual_example("32-generate-claim-number.md", "Request body yang salah"))
    assert wrong["metadata"] == {"code": 400, "message": "Parameter tidak berlaku: payor_id", "error_no": "E2044"}
    valid = ws(_manual_request("33-sitb-validate.md", sep, "Request Body"))
    assert_same_shape(valid, manual_example("33-sitb-validate.md"), newer=frozenset())
    assert_same_shape(ws.method("sitb_validate", nomor_sep=sep, nomor_register_sitb="X1"),
                      manual_example("33-sitb-validate.md", "Atau jika error"), newer=frozenset())
    assert ws(_manual_request("34-sitb-invalidate.md", sep, "Request Body")) == manual_example("34-sitb-invalidate.md")


def _manual_request(section: str, sep: str, caption: str = "Request Body", **changes):
    request = with_sep(manual_example(section, caption), sep)
    request.setdefault("data", {}).update(changes)
    if section.startswith("04"):
        request["data"]["nomor_sep"] = sep
    return request


def test_the_manuals_patient_and_claim_housekeeping(ws):
    """Sections 02 (update_patient renames the RM), 26 (delete_claim) and 03 (delete_patient, now claimless)."""
    created = manual_example("01-new-claim.md", "Request Body")
    assert ws(created)["metadata"]["code"] == 200
    renamed = manual_example("02-update-patient.md", "Request Body")
    assert ws(renamed) == {"metadata": {"code": 200, "message": "Ok"}}
    deleted = with_sep(manual_example("26-hapus-klaim.md", "Request Body"), created["data"]["nomor_sep"])
    assert ws(deleted) == {"metadata": {"code": 200, "message": "Ok"}}
    patient = manual_example("03-delete-patient.md", "Request Body")
    patient["data"]["nomor_rm"] = renamed["data"]["nomor_rm"]
    assert ws(patient) == {"metadata": {"code": 200, "message": "Ok"}}
