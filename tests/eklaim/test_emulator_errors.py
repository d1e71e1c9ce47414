"""Every E20xx the emulator answers, each where the manual's rules put it, with the text real servers send.
A refusal changes nothing."""

from __future__ import annotations

import csv

import pytest
from eklaim_kit import CODER_NIK, manual_claim_data, new_claim_from_manual, outpatient_claim_data

from fhirclaim.eklaim.client import EKlaimClient
from fhirclaim.eklaim.errors import EKlaimError
from fhirclaim.eklaim.messages import ClaimDataUpdate, NewClaim, PatientUpdate
from fhirclaim.eklaim.transport import InProcessTransport

from testkit import FIXTURES

SEP = "1710R01011160000249"
REFERENCE_TEXTS = {row["code"]: row["message"]
                   for row in csv.DictReader((FIXTURES / "eklaim" / "eklaim_error_codes.csv").open(encoding="utf-8"))
                   if row["code"] != "E2050"}


def refused(error_no: str, call, *args, **kwargs) -> EKlaimError:
    with pytest.raises(EKlaimError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.error_no == error_no, error
    assert error.message == REFERENCE_TEXTS[error_no]
    assert error.payload["metadata"] == {"code": 400, "message": REFERENCE_TEXTS[error_no], "error_no": error_no}
    return error


def opened(client, nomor_sep=SEP, nomor_rm="123-45-67"):
    client.new_claim(new_claim_from_manual(nomor_sep=nomor_sep, nomor_rm=nomor_rm))


def grouped(client, nomor_sep=SEP, **changes):
    client.set_claim_data(nomor_sep, outpatient_claim_data(**changes))
    return client.grouper(nomor_sep)


def finalised(client, nomor_sep=SEP, nomor_rm="123-45-67"):
    opened(client, nomor_sep, nomor_rm)
    grouped(client, nomor_sep)
    client.claim_final(nomor_sep, CODER_NIK)


def test_e2001_unknown_or_missing_method(client):
    refused("E2001", client.call, "no_such_method", {})
    refused("E2001", client.call, "", {})


def test_e2002_reedit_or_print_a_claim_that_is_not_final(client):
    opened(client)
    refused("E2002", client.reedit_claim, SEP)
    refused("E2002", client.claim_print, SEP)


def test_e2003_a_sep_held_by_several_claims_lists_them(client, app):
    opened(client)
    app.import_admission(SEP, "3849988", "TEST PASIEN", tgl_masuk="2016-12-19 21:10:07")
    error = refused("E2003", client.get_claim_data, SEP)
    assert error.duplicate == [
        {"nama_pasien": "NAMA TEST PASIEN", "nomor_rm": "123-45-67", "tgl_masuk": ""},
        {"nama_pasien": "TEST PASIEN", "nomor_rm": "3849988", "tgl_masuk": "2016-12-19 21:10:07"}]
    for method in (client.grouper, client.reedit_claim, client.send_claim_individual, client.claim_print):
        refused("E2003", method, SEP)
    refused("E2003", client.set_claim_data, SEP, outpatient_claim_data())


@pytest.mark.parametrize("method", ["get_claim_data", "get_claim_status", "grouper", "reedit_claim",
                                    "send_claim_individual", "claim_print"])
def test_e2004_unknown_sep(client, method):
    refused("E2004", getattr(client, method), "UNKNOWN-SEP")


def test_e2004_unknown_sep_for_writes(client):
    refused("E2004", client.set_claim_data, "UNKNOWN-SEP", outpatient_claim_data())
    refused("E2004", client.claim_final, "UNKNOWN-SEP", CODER_NIK)
    refused("E2004", client.delete_claim, "UNKNOWN-SEP", CODER_NIK)
    refused("E2004", client.call, "get_claim_data", {})


def test_e2005_e2006_coder_nik_missing_or_unregistered(client, app):
    opened(client)
    refused("E2005", client.call, "set_claim_data", {"tarif_rs": "100000"}, metadata={"nomor_sep": SEP})
    refused("E2005", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik="  ", tarif_rs=100000))
    refused("E2006", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik="999", tarif_rs=100000))
    refused("E2006", client.claim_final, SEP, "999")
    refused("E2006", client.delete_claim, SEP, "999")
    refused("E2006", client.delete_patient, "123-45-67", "999")
    app.register_coder("999", "CODER BARU")
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik="999", tarif_rs=100000))
    assert client.get_claim_data(SEP).data["coder_nm"] == "CODER BARU"


def test_e2007_new_claim_with_a_sep_in_use_lists_the_claim(client):
    opened(client)
    client.set_claim_data(SEP, outpatient_claim_data())
    error = refused("E2007", client.new_claim, new_claim_from_manual(nomor_rm="3887726"))
    assert error.duplicate == [{"nama_pasien": "NAMA TEST PASIEN", "nomor_rm": "123-45-67",
                                "tgl_masuk": "2024-11-09 08:55:00"}]


def test_e2008_unknown_nomor_rm(client):
    refused("E2008", client.update_patient, "NO-SUCH-RM", PatientUpdate(nama_pasien="X"))
    refused("E2008", client.delete_patient, "NO-SUCH-RM", CODER_NIK)


def test_e2009_a_final_claim_cannot_change(client):
    finalised(client)
    refused("E2009", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tarif_rs=100000))
    refused("E2009", client.grouper, SEP)
    refused("E2009", client.claim_final, SEP, CODER_NIK)
    refused("E2009", client.delete_claim, SEP, CODER_NIK)


def test_e2010_renaming_to_a_sep_in_use(client):
    opened(client)
    opened(client, "OTHER-SEP", "RM-2")
    refused("E2010", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, nomor_sep="OTHER-SEP"))


def test_e2011_patients_with_claims_cannot_be_deleted(client):
    finalised(client)
    refused("E2011", client.delete_patient, "123-45-67", CODER_NIK)


def test_a_sent_claim_can_be_reedited_and_counts_as_unsent_again(client):
    finalised(client)
    client.send_claim_individual(SEP)
    assert client.get_claim_data(SEP).kemenkes_dc_status_cd == "sent"
    client.reedit_claim(SEP)
    record = client.get_claim_data(SEP)
    assert record.klaim_status_cd == "normal" and record.kemenkes_dc_status_cd == "unsent"


def test_e2012_discharge_before_admission_changes_nothing(client):
    opened(client)
    client.set_claim_data(SEP, outpatient_claim_data())
    refused("E2012", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tgl_pulang="2024-11-09 08:00:00",
                                                                 diagnosa="A00.1", tarif_rs=999999))
    record = client.get_claim_data(SEP).data
    assert (record["diagnosa"], record["tarif_rs"], record["tgl_pulang"]) == ("J06.9", "250000", "09/11/2024")
    refused("E2012", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tgl_masuk="2024-11-10 00:00:00"))


def test_e2013_icu_days_beyond_the_stay(client):
    opened(client)
    client.set_claim_data(SEP, manual_claim_data())  # 54 days
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, icu_los=54))
    refused("E2013", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, icu_los=55))
    refused("E2013", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK,
                                                                 tgl_pulang="2016-10-27 08:00:00"))  # 2 days < 54
    assert client.get_claim_data(SEP).data["icu_los"] == "54"


def test_e2014_kode_tarif_unknown_or_not_the_hospitals(client, make_app, key):
    opened(client)
    refused("E2014", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, kode_tarif="ZZ"))
    refused("E2014", client.grouper, SEP)  # no kode_tarif yet: no tariff to group with
    hospital = EKlaimClient(InProcessTransport(make_app(kode_tarif="CS")), key)
    opened(hospital)
    refused("E2014", hospital.set_claim_data, SEP, outpatient_claim_data(kode_tarif="AP"))
    hospital.set_claim_data(SEP, outpatient_claim_data(kode_tarif="CS"))
    assert hospital.get_claim_data(SEP).data["kode_tarif"] == "CS"


def test_e2015_hospital_code_not_set_up(make_app, key):
    client = EKlaimClient(InProcessTransport(make_app(kode_rs="")), key)
    opened(client)
    client.set_claim_data(SEP, outpatient_claim_data())
    refused("E2015", client.grouper, SEP)
    refused("E2015", client.pull_claim, "2024-11-09", "2024-11-09", 3)


def test_e2016_an_error_group_cannot_be_final(client):
    opened(client)
    result = grouped(client, tarif_rs=10000)
    assert result.is_error
    refused("E2016", client.claim_final, SEP, CODER_NIK)


def test_e2017_final_or_stage_2_before_grouping(client):
    opened(client)
    client.set_claim_data(SEP, outpatient_claim_data())
    refused("E2017", client.claim_final, SEP, CODER_NIK)
    refused("E2017", client.grouper, SEP, ["RR04"])
    client.grouper(SEP)
    client.set_claim_data(SEP, ClaimDataUpdate(coder_nik=CODER_NIK, diagnosa="J06.0"))  # grouping now stale
    refused("E2017", client.claim_final, SEP, CODER_NIK)


def test_e2018_send_before_final(client):
    opened(client)
    grouped(client)
    refused("E2018", client.send_claim_individual, SEP)


@pytest.mark.parametrize("value", ["26/10/2016", "2016-02-30 10:00:00", "kemarin", "2016-10-26T12:55:00"])
def test_e2019_invalid_dates(client, value):
    opened(client)
    refused("E2019", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, tgl_masuk=value))
    refused("E2019", client.new_claim, NewClaim(nomor_sep="X1", nomor_rm="R1", nama_pasien="A", tgl_lahir=value,
                                                gender=1))


def test_e2019_bad_periods(client):
    refused("E2019", client.send_claim, "2024-11-10", "2024-11-09", 1)
    refused("E2019", client.send_claim, "", "2024-11-09", 1)
    refused("E2019", client.pull_claim, "2024-13-01", "2024-11-09", 1)
    refused("E2019", client.send_claim, "2024-11-09", "2024-11-09", 1, date_type=7)


def test_e2020_bpjs_has_no_answer_for_the_sep(client, app):
    opened(client)
    refused("E2020", client.get_claim_status, SEP)
    app.set_bpjs_claim_status(SEP, "40", "40_Proses_Cabang")
    app.set_bpjs_claim_status(SEP, None)
    refused("E2020", client.get_claim_status, SEP)


def test_e2027_hospital_not_registered_at_the_data_centre(make_app, key):
    client = EKlaimClient(InProcessTransport(make_app(hospital_registered=False)), key)
    finalised(client)
    refused("E2027", client.send_claim_individual, SEP)
    refused("E2027", client.send_claim, "2024-11-09", "2024-11-09", 3)
    assert client.get_claim_data(SEP).kemenkes_dc_status_cd == "unsent"


def test_e2028_bad_jenis_rawat(client):
    opened(client)
    refused("E2028", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, jenis_rawat=4))
    refused("E2028", client.set_claim_data, SEP, ClaimDataUpdate(coder_nik=CODER_NIK, jenis_rawat="inap"))
    refused("E2028", client.send_claim, "2024-11-09", "2024-11-09", 5)
    refused("E2028", client.pull_claim, "2024-11-09", "2024-11-09", "x")


def test_e2030_new_claim_without_sep_or_rm(client):
    refused("E2030", client.call, "new_claim", {"nomor_rm": "1", "nama_pasien": "A"})
    refused("E2030", client.call, "new_claim", {"nomor_sep": "1", "nama_pasien": "A"})


def test_e2099_update_patient_to_an_rm_in_use(client):
    opened(client)
    opened(client, "OTHER-SEP", "RM-2")
    refused("E2099", client.update_patient, "123-45-67", PatientUpdate(nomor_rm="RM-2"))


def test_an_emulator_bug_still_answers_in_the_protocol(client, app, monkeypatch):
    from fhirclaim.eklaim.emulator import app as app_module

    def broken(call):
        raise ZeroDivisionError("bug")

    monkeypatch.setitem(app_module.METHODS, "get_claim_data", broken)
    refused("E2099", client.get_claim_data, SEP)
