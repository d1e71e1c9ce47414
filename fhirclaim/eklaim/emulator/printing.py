"""claim_print: the individual claim form ("Berkas Klaim Individual Pasien") as a PDF, base64 in `data`.

Only final claims print (E2002 otherwise), as in E-Klaim where printing follows finalisation. The PDF is made
with fpdf2's core fonts; its creation date is the claim's final time, so the same claim prints the same bytes.
The form says it comes from the emulator, so that nobody mistakes it for a real claim document.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from fpdf import FPDF

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, one_claim
from fhirclaim.eklaim.emulator.claims import FINAL
from fhirclaim.eklaim.emulator.data_tables import tariff_classes
from fhirclaim.eklaim.emulator.fields import parse_timestamp
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.records import grouping_of
from fhirclaim.eklaim.emulator.stay import age_at, dmy, length_of_stay
from fhirclaim.eklaim.messages import as_int

JENIS_RAWAT = {"1": "Rawat Inap", "2": "Rawat Jalan"}
GENDER = {"1": "Laki-laki", "2": "Perempuan"}
CARA_PULANG = {"1": "Atas persetujuan dokter", "2": "Dirujuk", "3": "Atas permintaan sendiri", "4": "Meninggal",
               "5": "Lain-lain"}
LABEL_WIDTH = 48


def claim_print(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd != FINAL:
        raise WsError("E2002")
    return ok(data=base64.b64encode(claim_pdf(claim, call)).decode("ascii"))


def claim_pdf(claim: Claim, call: Call) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(claim.final_at or call.now)
    pdf.set_title(f"Berkas Klaim {claim.nomor_sep}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    _heading(pdf, call)
    _section(pdf, "Data Pasien dan Perawatan", _admission_lines(claim, call))
    _section(pdf, "Diagnosa (ICD-10)", _code_lines(claim.diagnosa, call.env.codes.diagnosis_description))
    _section(pdf, "Prosedur (ICD-9-CM)", _code_lines(claim.procedure, call.env.codes.procedure_description))
    _section(pdf, "Hasil Grouping INA-CBG", _grouping_lines(claim))
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    coder = f"Coder NIK {claim.coder_nik} - " if claim.coder_nik else ""
    pdf.multi_cell(0, 4, _latin1(f"{coder}final {claim.final_at:%d/%m/%Y %H:%M} - dicetak oleh emulator E-Klaim "
                                 "(fhirclaim sandbox); bukan berkas klaim resmi."))
    return bytes(pdf.output())


def _heading(pdf: FPDF, call: Call) -> None:
    config = call.env.config
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 7, "KEMENTERIAN KESEHATAN REPUBLIK INDONESIA", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, "Berkas Klaim Individual Pasien", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, _latin1(f"Kode RS {config.kode_rs} - Kelas {config.kelas_rs} - E-Klaim (emulator)"),
             new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(3)


def _section(pdf: FPDF, title: str, lines: Iterable[tuple[str, str]]) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    pdf.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.set_font("Helvetica", "", 9)
    for label, value in lines:
        pdf.cell(LABEL_WIDTH, 5, _latin1(label))
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _admission_lines(claim: Claim, call: Call) -> list[tuple[str, str]]:
    patient = claim.patient
    admitted = parse_timestamp(claim.tgl_masuk) or call.now
    age = age_at(patient.tgl_lahir, admitted)
    tariff_class = tariff_classes().get(claim.kode_tarif)
    return [
        ("Nomor SEP", claim.nomor_sep),
        ("Nomor Kartu", claim.nomor_kartu or "-"),
        ("Nama Pasien", patient.nama_pasien),
        ("Nomor Rekam Medis", patient.nomor_rm),
        ("Tanggal Lahir", dmy(patient.tgl_lahir) or "-"),
        ("Umur", f"{age[0]} tahun ({age[1]} hari)" if age else "-"),
        ("Jenis Kelamin", GENDER.get(patient.gender, "-")),
        ("Jenis Perawatan", JENIS_RAWAT.get(claim.jenis_rawat, "-")),
        ("Kelas Perawatan", f"Kelas {claim.kelas_rawat}" if claim.kelas_rawat else "-"),
        ("Tanggal Masuk", _day_and_time(claim.tgl_masuk)),
        ("Tanggal Pulang", _day_and_time(claim.tgl_pulang)),
        ("Lama Dirawat", f"{length_of_stay(claim.tgl_masuk, claim.tgl_pulang) or 0} hari"),
        ("Cara Pulang", CARA_PULANG.get(claim.discharge_status, "-")),
        ("DPJP", claim.nama_dokter or "-"),
        ("Rawat Intensif", f"{claim.icu_los} hari, ventilator {claim.ventilator_hour} jam"
         if claim.icu_indikator == "1" else "-"),
        ("Kode Tarif", f"{claim.kode_tarif} - {tariff_class.description}" if tariff_class else claim.kode_tarif),
        ("Jaminan", f"{claim.payor_id} - {claim.payor_cd}"),
    ]


def _code_lines(joined: str, describe: Any) -> list[tuple[str, str]]:
    codes = [code for code in joined.split("#") if code]
    if not codes:
        return [("-", "")]
    return [(code, describe(code) or "") for code in codes]


def _grouping_lines(claim: Claim) -> list[tuple[str, str]]:
    grouping = grouping_of(claim)
    response: Mapping[str, Any] = grouping.get("response") or {}
    lines = []
    total = 0
    for label, key in (("INA-CBG", "cbg"), ("Sub Acute", "sub_acute"), ("Chronic", "chronic")):
        group = response.get(key) or {}
        if group.get("code"):
            tariff = as_int(group.get("tariff")) or 0
            total += tariff
            lines.append((label, f"{group['code']} {group.get('description', '')} - {_rupiah(tariff)}"))
    for item in response.get("special_cmg") or ():
        tariff = as_int(item.get("tariff")) or 0
        total += tariff
        lines.append((item.get("type") or "Special CMG",
                      f"{item.get('code', '')} {item.get('description', '')} - {_rupiah(tariff)}"))
    lines.append(("Total Tarif INA-CBG", _rupiah(total)))
    add_payment = as_int(response.get("add_payment_amt")) or 0
    if add_payment:
        lines.append(("Tambahan Biaya (naik kelas)", _rupiah(add_payment)))
    lines.append(("Tarif Rumah Sakit", _rupiah(as_int(claim.tarif_rs) or 0)))
    lines.append(("Versi INA-CBG", str(response.get("inacbg_version") or "-")))
    return lines


def _day_and_time(timestamp: str) -> str:
    moment = parse_timestamp(timestamp)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else "-"


def _rupiah(amount: int) -> str:
    return f"Rp {amount:,}"


def _latin1(text: str) -> str:
    """fpdf2's core fonts are Latin-1; other characters print as '?' rather than failing the print."""
    return text.encode("latin-1", errors="replace").decode("latin-1")
