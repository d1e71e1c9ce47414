"""The client on its own terms: request builders, judging answers (including real servers' recorded answers),
retries only for transport failures of reads, debug mode, and what reaches the logs."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal

import pytest
from eklaim_kit import CODER_NIK, new_claim_from_manual, outpatient_claim_data

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.errors import EKlaimDebugModeRefused, EKlaimError, EKlaimTransportError
from fhirclaim.eklaim.messages import ClaimDataUpdate, ClaimRecord, GroupingResult, NewClaim, PatientUpdate
from fhirclaim.eklaim.transport import InProcessTransport

from testkit import load_fixture

SEP = "1710R01011160000249"
POSTMAN = load_fixture("eklaim/postman_E-KLAIM_IDRG.postman_collection.json")
PDF_EXAMPLES = load_fixture("eklaim/eklaim_5.10_manual_pdf_examples.json")["sections"]


def postman_answer(item_prefix: str, outcome: str) -> dict:
    item = next(i for i in POSTMAN["item"] if i["name"].startswith(item_prefix))
    response = next(r for r in item["response"] if r["name"].endswith(outcome))
    return json.loads(response["body"])


class Replay:
    """Answers every call with one recorded server answer, encrypted and armoured like a real server would."""

    def __init__(self, answer: dict | bytes, key: str | None) -> None:
        self.answer, self.key, self.requests = answer, key, []

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        self.requests.append(body)
        if isinstance(self.answer, bytes):
            return self.answer
        text = json.dumps(self.answer)
        return text.encode() if self.key is None else crypto.armour(crypto.encrypt(text, self.key)).encode()


class Flaky:
    """Injected failure: the first `failures` posts fail as a network would, then the real transport answers."""

    def __init__(self, inner, failures: int, *, retryable: bool = True) -> None:
        self.inner, self.failures, self.retryable, self.posts = inner, failures, retryable, 0

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        self.posts += 1
        if self.posts <= self.failures:
            raise EKlaimTransportError("connection reset", retryable=self.retryable)
        return self.inner.post(body, debug=debug)


# --- requests ---------------------------------------------------------------------------------------------------


def test_claim_data_update_sends_only_what_is_set_in_eklaim_form():
    update = ClaimDataUpdate(coder_nik=CODER_NIK, tgl_masuk=datetime(2016, 10, 26, 12, 55),
                             tgl_pulang=date(2016, 12, 18), jenis_rawat=1, diagnosa=["S71.0", " A00.1 ", ""],
                             procedure=[],
                             tarif_rs=Decimal("80000000.00"), add_payment_pct=12.5, icu_indikator=True,
                             extra={"cara_masuk": "gp"})
    assert update.to_data() == {"coder_nik": CODER_NIK, "tgl_masuk": "2016-10-26 12:55:00",
                                "tgl_pulang": "2016-12-18 00:00:00", "jenis_rawat": "1",
                                "diagnosa": "S71.0#A00.1", "procedure": "#", "tarif_rs": "80000000",
                                "add_payment_pct": "12.5", "icu_indikator": "1", "cara_masuk": "gp"}


def test_new_claim_and_patient_update_requests():
    assert NewClaim(nomor_sep="S", nomor_rm="R", nama_pasien="N", tgl_lahir=date(1940, 1, 1), gender=2).to_data() == {
        "nomor_sep": "S", "nomor_rm": "R", "nama_pasien": "N", "tgl_lahir": "1940-01-01 00:00:00", "gender": "2",
        "nomor_kartu": ""}
    assert PatientUpdate(nama_pasien="X").to_data() == {"nama_pasien": "X"}


def test_grouper_requests_name_the_stage_and_join_special_cmgs(key):
    transport = Replay({"metadata": {"code": 200, "message": "Ok"}, "response": {"cbg": {"code": "A-4-10-I"}}}, key)
    client = EKlaimClient(transport, key, grouper_name="inacbg")
    client.grouper("S1")
    client.grouper("S1", ["RR04", "YY01"])
    first, second = (json.loads(crypto.decrypt(body, key)) for body in transport.requests)
    assert first == {"metadata": {"method": "grouper", "stage": "1", "grouper": "inacbg"},
                     "data": {"nomor_sep": "S1"}}
    assert second["metadata"]["stage"] == "2" and second["data"]["special_cmg"] == "RR04#YY01"


# --- answers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, "400"])
def test_business_errors_carry_number_message_and_payload(key, code):
    answer = postman_answer("#00 NEW CLAIM", "FAILED")
    answer["metadata"]["code"] = code
    with pytest.raises(EKlaimError) as caught:
        EKlaimClient(Replay(answer, key), key).new_claim(new_claim_from_manual())
    assert (caught.value.error_no, caught.value.message) == ("E2007", "Duplikasi nomor SEP")
    assert caught.value.duplicate == [{"nama_pasien": "PASIEN UJICOBA IDRG 2", "nomor_rm": "A002122",
                                       "tgl_masuk": "2025-04-15 08:55:00"}]


def test_a_code_without_error_no_still_becomes_an_eklaim_error(key):
    with pytest.raises(EKlaimError) as caught:
        EKlaimClient(Replay({"metadata": {"code": 2029, "message": "Error : Koneksi gagal"}}, key), key
                     ).send_claim_individual("S")
    assert caught.value.error_no == "E2029"


def test_success_code_as_string_and_new_claim_ids_as_strings(key):
    answer = postman_answer("#00 NEW CLAIM", "SUCCESS")
    answer["metadata"]["code"] = "200"
    result = EKlaimClient(Replay(answer, key), key).new_claim(new_claim_from_manual())
    assert (result.patient_id, result.admission_id, result.hospital_admission_id) == (877, 2, 1136)


def test_parses_a_real_5_10_stage_2_grouping(key):
    result = EKlaimClient(Replay(postman_answer("#15 GROUPING INACBG STAGE 2", "SUCCESS"), key), key).grouper(
        "UJICOBA5", ["RR04Knee", "YY01"])
    assert (result.cbg.code, result.cbg.tariff, result.kelas) == ("M-1-04-II", 38971000, "kelas_3")
    assert [(s.code, s.tariff, s.type) for s in result.special_cmg] == [
        ("YY-01-II", 13099000, "Special Procedure"), ("RR-04-III-Knee", 13000000, "Special Prosthesis")]
    assert [o.code for o in result.special_cmg_option] == ["RR04Hip", "RR04Knee", "YY01"]
    assert result.total_tariff == 38971000 + 13099000 + 13000000 and not result.is_error


def test_parses_the_2017_manual_grouping_and_its_class_tariffs():
    answer = {"metadata": {"code": 200, "message": "Ok"}, "response": {
        "cbg": {"code": "M-1-04-II", "description": "PROSEDUR PADA SENDI TUNGKAI BAWAH (SEDANG)", "tariff": "40388100"},
        "sub_acute": {"code": "SF-4-10-I", "description": "ADL Score: 15 (61 hari)", "tariff": 5027400},
        "chronic": {"code": "CF-4-10-I", "description": "ADL Score: 12 (41 hari)", "tariff": 1802200},
        "kelas": "kelas_2", "add_payment_amt": 18792000, "inacbg_version": "5.1.0.201703121710"},
        "tarif_alt": [{"kelas": "kelas_1", "tarif_inacbg": "47119400", "tarif_sp": 13099000}]}
    result = GroupingResult.from_answer(answer)
    assert (result.sub_acute.code, result.sub_acute.tariff, result.chronic.tariff) == ("SF-4-10-I", 5027400, 1802200)
    assert (result.add_payment_amt, result.inacbg_version) == (18792000, "5.1.0.201703121710")
    assert (result.tarif_alt[0].kelas, result.tarif_alt[0].tarif_inacbg, result.tarif_alt[0].tarif_sp) == (
        "kelas_1", 47119400, 13099000)
    assert result.total_tariff == 40388100 + 5027400 + 1802200


@pytest.mark.parametrize("answer", [
    postman_answer("#20 CLAIM SEND", "SUCCESS"),
    PDF_EXAMPLES["send_claim"]["json"][1],
    PDF_EXAMPLES["send_claim_individual"]["json"][1],
])
def test_parses_data_centre_statuses_in_every_spelling(key, answer):
    statuses = EKlaimClient(Replay(answer, key), key).send_claim_individual("S")
    assert statuses and all(s.nomor_sep and s.kemkes_dc_status == "sent" and s.bpjs_dc_status == "unsent"
                            for s in statuses)


def test_parses_a_5_10_claim_record():
    record = ClaimRecord.from_response(PDF_EXAMPLES["get_claim_data"]["json"][1]["response"])
    assert (record.nomor_sep, record.klaim_status_cd, record.kemenkes_dc_status_cd) == ("000R000TEST", "normal",
                                                                                        "unsent")
    assert record.grouping.cbg.code == "X-0-00-X" and record.grouping.is_error


def test_answers_that_are_not_protocol_are_transport_errors(key):
    for raw in (b"<html>500</html>", crypto.armour(crypto.encrypt("not json", key)).encode(),
                crypto.armour(crypto.encrypt('["no metadata"]', key)).encode()):
        with pytest.raises(EKlaimTransportError):
            EKlaimClient(Replay(raw, None), key).get_claim_data("S")
    with pytest.raises(EKlaimTransportError):
        EKlaimClient(Replay({"metadata": {"code": 200}, "data": "%%%"}, key), key).claim_print("S")


# --- retries ----------------------------------------------------------------------------------------------------


def test_reads_are_retried_with_growing_pauses(app, key):
    client0 = EKlaimClient(InProcessTransport(app), key)
    client0.new_claim(new_claim_from_manual())
    pauses: list[float] = []
    flaky = Flaky(InProcessTransport(app), failures=2)
    client = EKlaimClient(flaky, key, retries=2, backoff=0.2, sleep=pauses.append)
    assert client.get_claim_data(SEP).nomor_sep == SEP
    assert (flaky.posts, pauses) == (3, [0.2, 0.4])


def test_retries_are_bounded(app, key):
    pauses: list[float] = []
    flaky = Flaky(InProcessTransport(app), failures=10)
    with pytest.raises(EKlaimTransportError):
        EKlaimClient(flaky, key, retries=3, backoff=1.5, sleep=pauses.append).get_claim_status(SEP)
    assert flaky.posts == 4 and pauses == [1.5, 2.0, 2.0]


def test_writes_are_never_retried(app, key):
    for call in (lambda c: c.new_claim(new_claim_from_manual()),
                 lambda c: c.set_claim_data(SEP, outpatient_claim_data()),
                 lambda c: c.claim_final(SEP, CODER_NIK), lambda c: c.send_claim_individual(SEP),
                 lambda c: c.delete_claim(SEP, CODER_NIK)):
        flaky = Flaky(InProcessTransport(app), failures=1)
        with pytest.raises(EKlaimTransportError):
            call(EKlaimClient(flaky, key, retries=5, sleep=lambda _: None))
        assert flaky.posts == 1


def test_business_errors_and_non_retryable_failures_are_not_retried(app, key):
    flaky = Flaky(InProcessTransport(app), failures=0)
    with pytest.raises(EKlaimError):
        EKlaimClient(flaky, key, sleep=lambda _: None).get_claim_data("UNKNOWN")
    assert flaky.posts == 1
    flaky = Flaky(InProcessTransport(app), failures=1, retryable=False)
    with pytest.raises(EKlaimTransportError):
        EKlaimClient(flaky, key, sleep=lambda _: None).get_claim_data(SEP)
    assert flaky.posts == 1


def test_a_wrong_key_is_a_transport_error_not_retried(app):
    flaky = Flaky(InProcessTransport(app), failures=0)
    with pytest.raises(EKlaimTransportError) as caught:
        EKlaimClient(flaky, crypto.generate_key(), sleep=lambda _: None).get_claim_data(SEP)
    assert "does not decrypt" in str(caught.value) and not caught.value.retryable and flaky.posts == 1


def test_a_malformed_key_fails_at_construction(app):
    with pytest.raises(crypto.InvalidKeyError):
        EKlaimClient(InProcessTransport(app), "abc")


# --- debug mode -------------------------------------------------------------------------------------------------


def test_debug_mode_round_trip(debug_client):
    debug_client.new_claim(new_claim_from_manual())
    debug_client.set_claim_data(SEP, outpatient_claim_data())
    assert debug_client.grouper(SEP).cbg.code


def test_debug_mode_refused(make_app, key):
    client = EKlaimClient(InProcessTransport(make_app(allow_debug=False)), key, debug=True)
    with pytest.raises(EKlaimDebugModeRefused):
        client.get_claim_data(SEP)


# --- logging ----------------------------------------------------------------------------------------------------


def test_logs_never_hold_the_key_or_patient_names(client, key, caplog):
    caplog.set_level(logging.DEBUG)
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data())
    client.grouper(SEP)
    client.claim_final(SEP, CODER_NIK)
    client.get_claim_data(SEP)
    client.claim_print(SEP)
    with pytest.raises(EKlaimError):
        client.new_claim(new_claim_from_manual())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert key not in text and "NAMA TEST PASIEN" not in text
    assert "eklaim request" in text and '"method": "set_claim_data"' in text  # payloads do show at DEBUG
    assert key not in repr(client) and key not in repr(client._transport.app.config)
