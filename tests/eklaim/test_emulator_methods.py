"""Every ws.php method's happy path, driven by the project's client through the in-process transport (the full
encrypt → WSGI app → decrypt path, no socket)."""

from __future__ import annotations

import json

import pytest
from eklaim_kit import (
    CODER_NAME,
    CODER_NIK,
    MANUAL,
    manual_claim_data,
    new_claim_from_manual,
    outpatient_claim_data,
)

from fhirclaim.eklaim.emulator.grouping import grouper_input
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.errors import EKlaimError
from fhirclaim.eklaim.messages import ClaimDataUpdate, PatientUpdate, parse_claim_txt

from testkit import load_fixture

SEP = "1710R01011160000249"


def stored(app, nomor_sep: str = SEP) -> Claim:
    with app.store.transaction() as session:
        claim = session.query(Claim).filter_by(nomor_sep=nomor_sep, deleted_at=None).one()
        session.expunge_all()
        return claim


def test_new_claim_registers_the_patient_and_numbers_admissions(client):
    first = client.new_claim(new_claim_from_manual())
    second = client.new_claim(new_claim_from_manual(nomor_sep="0301R00112140006067"))
    other = client.new_claim(new_claim_from_manual(nomor_sep="0301R00112140000001", nomor_rm="999"))
    assert (first.patient_id, first.admission_id) == (second.patient_id, 1)
    assert second.admission_id == 2
    assert other.patient_id != first.patient_id and other.admission_id == 1
    assert len({first.hospital_admission_id, second.hospital_admission_id, other.hospital_admission_id}) == 3


def test_new_claim_accepts_the_reference_request_bodies(client):
    """The 5.10 manual's example (gender as a number) is accepted like the 2017 one (gender as a string)."""
    example = load_fixture("eklaim/eklaim_5.10_manual_examples.json")["sections"]["01-new-claim.md"]
    answer = client.call("new_claim", example["examples"][0]["json"]["data"])
    assert answer["metadata"] == {"code": 200, "message": "Ok"}
    assert set(answer["response"]) == {"patient_id", "admission_id", "hospital_admission_id"}
    record = client.get_claim_data("0001R0016120507422").data
    assert (record["gender"], record["tgl_lahir"], record["nama_pasien"]) == (2, "01/01/1940", "NAMA TEST PASIEN")


def test_set_claim_data_stores_the_manual_example(client, app):
    client.new_claim(new_claim_from_manual())
    client.call("set_claim_data", MANUAL["set_claim_data"]["data"], metadata={"nomor_sep": SEP})
    record = client.get_claim_data(SEP).data
    assert record["diagnosa"] == "S71.0#A00.1" and record["procedure"] == "81.52#88.38"
    assert (record["tgl_masuk"], record["tgl_pulang"], record["los"]) == ("26/10/2016", "18/12/2016", "54")
    assert (record["kelas_rawat"], record["jenis_rawat"]) == (1, 1)
    assert (record["adl_sub_acute"], record["adl_chronic"]) == (15, 12)
    assert (record["tarif_rs"], record["tarif_poli_eks"], record["kode_tarif"]) == ("80000000", "100000", "AP")
    assert (record["upgrade_class_class"], record["upgrade_class_los"]) == ("vip", "5")
    assert record["add_payment_pct"] == "35.0"
    assert (record["coder_nik"], record["coder_nm"], record["nomor_kartu"]) == (CODER_NIK, CODER_NAME, "233333")
    assert (record["payor_id"], record["payor_nm"], record["nama_dokter"]) == ("3", "JKN", "RUDY, DR")
    assert stored(app).tgl_masuk == "2016-10-26 12:55:00"


def test_set_claim_data_is_partial_hash_clears_and_empty_changes_nothing(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data())
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, procedure="36.06#88.09"))
    record = client.get_claim_data(SEP).data
    assert record["procedure"] == "36.06#88.09" and record["diagnosa"] == "S71.0#A00.1"  # untouched
    client.call("set_claim_data", {"procedure": "", "diagnosa": None, "coder_nik": CODER_NIK},
                metadata={"nomor_sep": SEP})
    assert client.get_claim_data(SEP).data["procedure"] == "36.06#88.09"  # "" = unchanged
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, procedure=[]))  # sent as "#"
    record = client.get_claim_data(SEP).data
    assert record["procedure"] == "" and record["diagnosa"] == "S71.0#A00.1"


def test_invalid_icd_codes_are_not_stored_and_valid_ones_normalised(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data(diagnosa="s710#ZZZ.99#A00.1#A00.1", procedure="8152#99.999#88.38"))
    record = client.get_claim_data(SEP).data
    assert record["diagnosa"] == "S71.0#A00.1"
    assert record["procedure"] == "81.52#88.38"


def test_values_outside_their_value_set_are_not_stored(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data())
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, kelas_rawat=7, adl_sub_acute=5, adl_chronic=61,
                                               discharge_status=9, upgrade_class_class="vvip", tarif_rs="-5",
                                               icu_los="two"))
    record = client.get_claim_data(SEP).data
    assert (record["kelas_rawat"], record["adl_sub_acute"], record["adl_chronic"]) == (1, 15, 12)
    assert (record["discharge_status"], record["upgrade_class_class"], record["tarif_rs"], record["icu_los"]) == (
        1, "vip", "80000000", "2")


@pytest.mark.parametrize("score", [12, 60, 0])
def test_adl_scores_from_12_to_60_are_stored_and_0_clears(client, score):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data(adl_sub_acute=30))
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, adl_sub_acute=score))
    assert client.get_claim_data(SEP).data["adl_sub_acute"] == score


def test_set_claim_data_renames_the_sep(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data(nomor_sep="NEWSEP01"))
    assert client.get_claim_data("NEWSEP01").data["nomor_sep"] == "NEWSEP01"
    with pytest.raises(EKlaimError) as caught:
        client.get_claim_data(SEP)
    assert caught.value.error_no == "E2004"


def test_tarif_rs_as_a_5_10_breakdown_is_summed(client):
    client.new_claim(new_claim_from_manual())
    breakdown = {"prosedur_non_bedah": "300000", "kamar": "6000000", "obat": 100000}
    client.set_claim_data(SEP, outpatient_claim_data(extra={"tarif_rs": breakdown}))
    record = client.get_claim_data(SEP).data
    assert record["tarif_rs"] == {"prosedur_non_bedah": 300000, "kamar": 6000000, "obat": 100000}


def test_grouper_stage_1_passes_the_stored_claim_to_the_grouper(client, app, grouper):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data())
    result = client.grouper(SEP)
    claim_input = grouper_input_of(app)
    assert claim_input["diagnosa"] == "S71.0#A00.1" and claim_input["tgl_lahir"] == "1940-01-01 02:00:00"
    assert claim_input["gender"] == "2" and claim_input["tarif_rs"] == "80000000"
    expected = grouper.group(claim_input, ())
    assert result.raw["response"] == expected["response"]
    assert result.raw.get("special_cmg_option") == expected.get("special_cmg_option")
    assert result.raw.get("tarif_alt") == expected.get("tarif_alt")
    assert result.cbg.code == expected["response"]["cbg"]["code"] and not result.is_error
    assert result.inacbg_version == grouper.version


def grouper_input_of(app) -> dict:
    with app.store.transaction() as session:
        claim = session.query(Claim).filter_by(nomor_sep=SEP).one()
        return grouper_input(claim)


def test_grouper_stage_2_with_the_offered_special_cmgs(client, app, grouper):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data())
    stage_one = client.grouper(SEP)
    assert stage_one.special_cmg_option, "the manual's hip/knee example offers special CMGs"
    chosen = [option.code for option in stage_one.special_cmg_option]
    stage_two = client.grouper(SEP, [*chosen, "NOT-OFFERED"])
    expected = grouper.group(grouper_input_of(app), tuple(chosen))
    assert stage_two.raw["response"] == expected["response"]
    assert stage_two.special_cmg and {item.type for item in stage_two.special_cmg} <= {
        option.type for option in stage_one.special_cmg_option}
    groups = [stage_two.cbg, stage_two.sub_acute, stage_two.chronic, *stage_two.special_cmg]
    assert stage_two.total_tariff == sum(group.tariff or 0 for group in groups if group is not None)
    assert stored(app).special_cmg == "#".join(chosen)
    assert client.get_claim_data(SEP).data["grouping_count"] == "2"


def test_tarif_rs_below_15000_groups_as_data_incomplete(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data(tarif_rs=14999))
    result = client.grouper(SEP)
    assert result.cbg.code == "X-0-94-X" and result.is_error and not result.cbg.tariff


def test_a_crashing_grouper_answers_x_0_99_x(make_app, key):
    class Broken:
        version = "broken"

        def group(self, claim, special_cmg=()):
            raise RuntimeError("UNU grouper crashed")

    from fhirclaim.eklaim.client import EKlaimClient
    from fhirclaim.eklaim.transport import InProcessTransport

    client = EKlaimClient(InProcessTransport(make_app(grouper=Broken())), key)
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data())
    result = client.grouper(SEP)
    assert (result.cbg.code, result.cbg.description, result.kelas) == ("X-0-99-X", "FAILED: EMPTY RESPONSE", "kelas_3")


def test_changing_claim_data_drops_the_grouping(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data())
    client.grouper(SEP)
    assert client.get_claim_data(SEP).grouping is not None
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tarif_rs=300000))
    record = client.get_claim_data(SEP)
    assert record.grouping is None and record.data["grouper"] == {}
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tarif_rs=300000))  # no change: kept None anyway
    client.grouper(SEP)
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tarif_rs="300000"))  # same value: grouping kept
    assert client.get_claim_data(SEP).grouping is not None


def test_final_reedit_final_and_history(client, app, clock):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, outpatient_claim_data())
    client.grouper(SEP)
    clock.advance(minutes=5)
    client.claim_final(SEP, CODER_NIK)
    record = client.get_claim_data(SEP)
    assert record.is_final and record.klaim_status_cd == "final"
    client.reedit_claim(SEP)
    assert client.get_claim_data(SEP).klaim_status_cd == "normal"
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, diagnosa="J06.0"))
    client.grouper(SEP)
    client.claim_final(SEP, CODER_NIK)
    with app.store.transaction() as session:
        claim = session.query(Claim).filter_by(nomor_sep=SEP).one()
        methods = [event.method for event in claim.events]
        statuses = [event.klaim_status_cd for event in claim.events]
        last_snapshot = json.loads(claim.events[-1].snapshot)
    assert methods == ["new_claim", "set_claim_data", "grouper", "claim_final", "reedit_claim", "set_claim_data",
                       "grouper", "claim_final"]
    assert statuses[3:5] == ["final", "normal"] and statuses[-1] == "final"
    assert last_snapshot["diagnosa"] == "J06.0"


def test_get_claim_data_has_the_manuals_shape(client):
    client.new_claim(new_claim_from_manual())
    client.set_claim_data(SEP, manual_claim_data())
    client.grouper(SEP)
    record = client.get_claim_data(SEP).data
    manual_keys = {"kode_rs", "kelas_rs", "kelas_rawat", "kode_tarif", "jenis_rawat", "tgl_masuk", "tgl_pulang",
                   "tgl_lahir", "berat_lahir", "gender", "discharge_status", "diagnosa", "procedure",
                   "adl_sub_acute", "adl_chronic", "tarif_rs", "los", "icu_indikator", "icu_los", "ventilator_hour",
                   "upgrade_class_ind", "upgrade_class_class", "upgrade_class_los", "add_payment_pct",
                   "add_payment_amt", "nama_pasien", "nomor_rm", "umur_tahun", "umur_hari", "nama_dokter",
                   "nomor_sep", "nomor_kartu", "payor_id", "payor_nm", "coder_nm", "coder_nik", "patient_id",
                   "admission_id", "hospital_admission_id", "grouping_count", "grouper", "kemenkes_dc_status_cd",
                   "kemenkes_dc_sent_dttm", "bpjs_dc_status_cd", "bpjs_dc_sent_dttm", "klaim_status_cd",
                   "bpjs_klaim_status_cd", "bpjs_klaim_status_nm"}
    assert manual_keys <= set(record)
    assert set(record["grouper"]) >= {"response"} and "cbg" in record["grouper"]["response"]
    assert (record["klaim_status_cd"], record["kemenkes_dc_status_cd"], record["kemenkes_dc_sent_dttm"]) == (
        "normal", "unsent", "-")
    assert (record["bpjs_klaim_status_cd"], record["bpjs_klaim_status_nm"]) == ("-", "-")


def test_age_is_counted_at_admission_like_the_manual(client):
    """Manual: born 15/03/1950, admitted 26/10/2016 → 66 years, 24332 days."""
    client.new_claim(new_claim_from_manual())
    client.update_patient("123-45-67", PatientUpdate(tgl_lahir="1950-03-15 00:00:00"))
    client.set_claim_data(SEP, manual_claim_data())
    record = client.get_claim_data(SEP).data
    assert (record["umur_tahun"], record["umur_hari"]) == (66, "24332")


def test_update_patient_changes_data_and_rm(client):
    client.new_claim(new_claim_from_manual())
    client.update_patient("123-45-67", PatientUpdate(nomor_kartu="0000668800001", nomor_rm="123-45-76",
                                                    nama_pasien="NAMA BARU", gender=1))
    record = client.get_claim_data(SEP).data
    assert (record["nomor_rm"], record["nama_pasien"], record["gender"]) == ("123-45-76", "NAMA BARU", 1)


def test_delete_claim_then_delete_patient(client):
    client.new_claim(new_claim_from_manual())
    client.delete_claim(SEP, CODER_NIK)
    with pytest.raises(EKlaimError) as caught:
        client.get_claim_data(SEP)
    assert caught.value.error_no == "E2004"
    client.delete_patient("123-45-67", CODER_NIK)
    with pytest.raises(EKlaimError) as caught:
        client.update_patient("123-45-67", PatientUpdate(nama_pasien="X"))
    assert caught.value.error_no == "E2008"
    again = client.new_claim(new_claim_from_manual())  # the SEP and the RM are free again
    assert again.admission_id == 1


def finalised(client, nomor_sep=SEP, nomor_rm="123-45-67", **claim_changes):
    client.new_claim(new_claim_from_manual(nomor_sep=nomor_sep, nomor_rm=nomor_rm))
    client.set_claim_data(nomor_sep, outpatient_claim_data(**claim_changes))
    client.grouper(nomor_sep)
    client.claim_final(nomor_sep, CODER_NIK)


def test_send_claim_individual_marks_the_kemkes_data_centre(client, clock):
    finalised(client)
    statuses = client.send_claim_individual(SEP)
    assert [(s.nomor_sep, s.tgl_pulang, s.kemkes_dc_status, s.bpjs_dc_status) for s in statuses] == [
        (SEP, "2024-11-09 10:10:00", "sent", "unsent")]
    record = client.get_claim_data(SEP).data
    assert record["kemenkes_dc_status_cd"] == "sent"
    assert record["kemenkes_dc_sent_dttm"] == clock.now.strftime("%Y-%m-%d %H:%M:%S")
    assert record["bpjs_dc_status_cd"] == "unsent" and record["bpjs_dc_sent_dttm"] == "-"


def test_send_claim_individual_to_bpjs_when_enabled(make_app, key):
    from fhirclaim.eklaim.client import EKlaimClient
    from fhirclaim.eklaim.transport import InProcessTransport

    client = EKlaimClient(InProcessTransport(make_app(bpjs_dc_enabled=True)), key)
    finalised(client)
    assert client.send_claim_individual(SEP)[0].bpjs_dc_status == "sent"


def test_send_claim_sends_the_final_claims_of_the_day_and_jenis_rawat(client):
    finalised(client, "SEP-A", "RM-A", tgl_pulang="2024-11-09 10:10:00")
    finalised(client, "SEP-B", "RM-B", tgl_masuk="2024-11-09 07:00:00", tgl_pulang="2024-11-09 23:59:59")
    finalised(client, "SEP-C", "RM-C", tgl_masuk="2024-11-10 07:00:00", tgl_pulang="2024-11-10 08:00:00")
    finalised(client, "SEP-D", "RM-D", jenis_rawat="1", kelas_rawat="2", tgl_pulang="2024-11-09 18:00:00")
    client.new_claim(new_claim_from_manual(nomor_sep="SEP-E", nomor_rm="RM-E"))  # not final: never sent
    client.set_claim_data("SEP-E", outpatient_claim_data())
    outpatients = client.send_claim("2024-11-09", "2024-11-09", jenis_rawat=2)
    assert [s.nomor_sep for s in outpatients] == ["SEP-A", "SEP-B"]
    assert all(s.kemkes_dc_status == "sent" and s.bpjs_dc_status == "unsent" for s in outpatients)
    both = client.send_claim("2024-11-09", "2024-11-10", jenis_rawat=3)
    assert [s.nomor_sep for s in both] == ["SEP-A", "SEP-D", "SEP-B", "SEP-C"]
    assert client.get_claim_data("SEP-E").kemenkes_dc_status_cd == "unsent"


def test_send_claim_by_grouping_date(client, clock):
    finalised(client, "SEP-A", "RM-A")
    clock.advance(days=1)
    finalised(client, "SEP-B", "RM-B")
    today = clock.now.date()
    sent = client.send_claim(today, today, jenis_rawat=2, date_type=2)
    assert [s.nomor_sep for s in sent] == ["SEP-B"]


def test_get_claim_status_answers_the_simulated_bpjs_state(client, app):
    client.new_claim(new_claim_from_manual())
    app.set_bpjs_claim_status(SEP, "40", "40_Proses_Cabang")
    status = client.get_claim_status(SEP)
    assert (status.kd_status_sep, status.nm_status_sep) == ("40", "40_Proses_Cabang")
    record = client.get_claim_data(SEP).data
    assert (record["bpjs_klaim_status_cd"], record["bpjs_klaim_status_nm"]) == ("40", "40_Proses_Cabang")


def test_pull_claim_exports_the_manuals_txt(client):
    finalised(client, "SEP-A", "RM-A", diagnosa="J06.9#A00.1", procedure="89.03")
    finalised(client, "SEP-D", "RM-D", jenis_rawat="1", kelas_rawat="2")
    text = client.pull_claim("2024-11-09", "2024-11-09", jenis_rawat=2)
    header, *lines = text.split("\n")
    assert header == MANUAL["pull_claim_header"] and text.endswith("\n") and lines[-1] == ""
    rows = parse_claim_txt(text)
    assert len(rows) == 1
    row = rows[0]
    record = client.get_claim_data("SEP-A")
    grouping = record.grouping
    assert (row["SEP"], row["MRN"], row["PTD"], row["KELAS_RAWAT"], row["KODE_TARIF"]) == ("SEP-A", "RM-A", "2", "3",
                                                                                           "AP")
    assert (row["ADMISSION_DATE"], row["DISCHARGE_DATE"], row["BIRTH_DATE"]) == ("09/11/2024", "09/11/2024",
                                                                                 "01/01/1940")
    assert (row["DIAGLIST"], row["PROCLIST"], row["LOS"], row["PAYOR_ID"]) == ("J06.9;A00.1", "89.03", "1", "3;JKN")
    assert (row["INACBG"], int(row["TARIF_INACBG"])) == (grouping.cbg.code, grouping.cbg.tariff)
    assert int(row["TOTAL_TARIF"]) == grouping.total_tariff
    assert (row["UMUR_TAHUN"], row["UMUR_HARI"]) == (str(record.data["umur_tahun"]), record.data["umur_hari"])
    assert (row["IN_SP"], row["SP"], row["DESKRIPSI_SP"], row["TARIF_SP"]) == ("None", "None", "-", "0")
    assert (row["C1"], row["C2"], row["C3"]) == ("1", "0", "1") and len(row["C4"]) == 32
    assert parse_claim_txt(client.pull_claim("2024-11-09", "2024-11-09", 1))[0]["SEP"] == "SEP-D"


def test_claim_print_is_a_pdf(client):
    finalised(client)
    pdf = client.claim_print(SEP)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert client.claim_print(SEP) == pdf  # deterministic


def test_reads_do_not_change_the_claim(client, app):
    finalised(client)
    before = stored(app)
    client.get_claim_data(SEP)
    client.claim_print(SEP)
    client.pull_claim("2024-11-09", "2024-11-09", 3)
    after = stored(app)
    assert (after.updated_at, after.grouping, after.klaim_status_cd) == (before.updated_at, before.grouping,
                                                                         before.klaim_status_cd)
