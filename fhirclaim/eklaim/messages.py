"""Typed requests and parsed answers of the E-Klaim web service, in E-Klaim's own field names.

Requests are small frozen dataclasses whose `to_data()` gives the `data` object of the call, with values written
the way E-Klaim expects them (strings, `YYYY-MM-DD HH:MM:SS` dates, `#`-joined code lists). In a
`ClaimDataUpdate` a field left at None is not sent, which E-Klaim reads as "unchanged"; an empty code list is sent
as `#`, which clears it.

Answers are parsed leniently, because real servers differ from the manual in small ways: codes and amounts come as
numbers or strings, send_claim items say `SEP`/`kemkes_dc_Status` or `nomor_sep`/`kemkes_dc_status`, and 5.10
servers put the grouping under `response_inacbg` instead of `response` (and the iDRG one under `response_idrg`).
Every parsed answer keeps the `raw` dict.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Dateish = date | datetime | str
Number = int | float | Decimal | str
CodeList = Sequence[str] | str


# --- value formatting ---------------------------------------------------------------------------------------


def format_datetime(value: Dateish) -> str:
    """E-Klaim's timestamp form `YYYY-MM-DD HH:MM:SS`; a date means midnight; a string is sent as given."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    return value


def format_date(value: Dateish) -> str:
    """`YYYY-MM-DD` (send_claim, pull_claim); a string is sent as given."""
    if isinstance(value, date):  # datetime is a date too
        return value.strftime("%Y-%m-%d")
    return value


def format_codes(value: CodeList) -> str:
    """`#`-joined codes, principal first; an empty list is `#` ("clear"), never `""` (which means "unchanged")."""
    if isinstance(value, str):
        return value
    codes = [code.strip() for code in value if code and code.strip()]
    return "#".join(codes) if codes else "#"


def format_number(value: Number) -> str:
    """Amounts and counts as E-Klaim's PHP reads them: `80000000`, not `80000000.0`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _data(obj: Any) -> dict[str, Any]:
    """The non-None fields of a request dataclass, formatted by field kind."""
    out: dict[str, Any] = {}
    for spec in fields(obj):
        value = getattr(obj, spec.name)
        if value is None or spec.name == "extra":
            continue
        kind = spec.metadata.get("kind", "text")
        if kind == "datetime":
            out[spec.name] = format_datetime(value)
        elif kind == "codes":
            out[spec.name] = format_codes(value)
        elif kind == "number":
            out[spec.name] = format_number(value)
        elif kind == "tarif":
            out[spec.name] = ({k: format_number(v) for k, v in value.items()} if isinstance(value, Mapping)
                              else format_number(value))
        elif kind == "object":
            out[spec.name] = dict(value)
        else:
            out[spec.name] = str(value)
    out.update(getattr(obj, "extra", None) or {})
    return out


def _kind(kind: str) -> Any:
    return field(default=None, metadata={"kind": kind})


# --- requests -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewClaim:
    """new_claim: opens an admission under a SEP and registers the patient (by nomor_rm) if unknown."""

    nomor_sep: str
    nomor_rm: str
    nama_pasien: str
    tgl_lahir: Dateish = field(metadata={"kind": "datetime"})
    gender: int | str = field(metadata={"kind": "number"})  # 1 = laki-laki, 2 = perempuan
    nomor_kartu: str = ""

    def to_data(self) -> dict[str, Any]:
        return _data(self)


@dataclass(frozen=True)
class PatientUpdate:
    """update_patient: the patient is named by the call's nomor_rm; `nomor_rm` here is a new value."""

    nomor_kartu: str | None = None
    nomor_rm: str | None = None
    nama_pasien: str | None = None
    tgl_lahir: Dateish | None = _kind("datetime")
    gender: int | str | None = _kind("number")

    def to_data(self) -> dict[str, Any]:
        return _data(self)


CODING_FIELDS = ("diagnosa", "procedure", "diagnosa_inagrouper", "procedure_inagrouper")
TARIF_RS_KEYS = ("prosedur_non_bedah", "prosedur_bedah", "konsultasi", "tenaga_ahli", "keperawatan", "penunjang",
                 "radiologi", "laboratorium", "pelayanan_darah", "rehabilitasi", "kamar", "rawat_intensif", "obat",
                 "obat_kronis", "obat_kemoterapi", "alkes", "bmhp", "sewa_alat")


@dataclass(frozen=True)
class ClaimDataUpdate:
    """set_claim_data: only the fields given are sent (None = unchanged); `coder_nik` is mandatory.

    `nomor_sep` here is a new SEP number for the claim (the claim itself is named by the call's nomor_sep).
    The 5.10 fields (manual 5.10 §IV.4) are here too: `tarif_rs` as the 18-key breakdown object (`TARIF_RS_KEYS`;
    a plain amount is the 5.1 form), `ventilator` {use_ind, start_dttm, stop_dttm}, `apgar` {menit_1, menit_5},
    `persalinan` {usia_kehamilan, ..., delivery: [...]} are sent as the objects given. Coding (`diagnosa`,
    `procedure`) is 5.1 only: a 5.10 server refuses it (E2044) and `to_data(protocol="5.10")` raises ValueError, so
    5.10 coding can only go through idrg_*_set / inacbg_*_set. `extra` carries fields not listed here verbatim.
    """

    coder_nik: str
    nomor_sep: str | None = None
    nomor_kartu: str | None = None
    tgl_masuk: Dateish | None = _kind("datetime")
    tgl_pulang: Dateish | None = _kind("datetime")
    cara_masuk: str | None = None  # gp, hosp-trans, mp, outp, inp, emd, born, nursing, psych, rehab, other
    jenis_rawat: int | str | None = _kind("number")  # 1 inap, 2 jalan, 3 igd
    kelas_rawat: int | str | None = _kind("number")  # 1, 2, 3 (rawat jalan: 3 regular, 1 eksekutif)
    adl_sub_acute: int | str | None = _kind("number")  # 12..60
    adl_chronic: int | str | None = _kind("number")  # 12..60
    icu_indikator: int | str | None = _kind("number")
    icu_los: int | str | None = _kind("number")
    ventilator_hour: int | str | None = _kind("number")
    ventilator: Mapping[str, Any] | None = _kind("object")
    upgrade_class_ind: int | str | None = _kind("number")
    upgrade_class_class: str | None = None  # kelas_1, kelas_2, vip, vvip
    upgrade_class_los: int | str | None = _kind("number")
    upgrade_class_payor: str | None = None  # peserta, pemberi_kerja, asuransi_tambahan
    add_payment_pct: Number | None = _kind("number")
    birth_weight: int | str | None = _kind("number")
    sistole: int | str | None = _kind("number")
    diastole: int | str | None = _kind("number")
    discharge_status: int | str | None = _kind("number")  # 1..5
    diagnosa: CodeList | None = _kind("codes")  # 5.1 only: ICD-10, principal first
    procedure: CodeList | None = _kind("codes")  # 5.1 only: ICD-9-CM
    tarif_rs: Number | Mapping[str, Number] | None = _kind("tarif")
    nomor_kartu_t: str | None = None  # nik, kitas, paspor, kartu_jkn, kk, unhcr, ..., klaim_ibu, lainnya
    bayi_lahir_status_cd: int | str | None = _kind("number")  # 1 tanpa kelainan, 2 dengan kelainan
    dializer_single_use: int | str | None = _kind("number")
    kantong_darah: int | str | None = _kind("number")
    alteplase_ind: int | str | None = _kind("number")
    apgar: Mapping[str, Any] | None = _kind("object")
    persalinan: Mapping[str, Any] | None = _kind("object")
    tarif_poli_eks: Number | None = _kind("number")
    nama_dokter: str | None = None
    kode_tarif: str | None = None
    payor_id: int | str | None = _kind("number")
    payor_cd: str | None = None
    cob_cd: str | None = None  # "#" clears
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> ClaimDataUpdate:
        """From a payload dict (the mapping's output): known names become fields, the rest goes to `extra`."""
        known = {spec.name for spec in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in values.items() if k in known},
                   extra={k: v for k, v in values.items() if k not in known})

    def to_data(self, protocol: str = "5.1") -> dict[str, Any]:
        data = _data(self)
        coding = [name for name in CODING_FIELDS if name in data]
        if protocol != "5.1" and coding:
            raise ValueError(f"set_claim_data carries no coding on E-Klaim {protocol} ({', '.join(coding)}): "
                             f"use idrg_diagnosa_set / idrg_procedure_set (and inacbg_*_set)")
        return data


# --- answers ------------------------------------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    """An amount or id as int: numbers and numeric strings ("40388100", "0.0"); None for "", "-", None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text in ("", "-", "None"):
        return None
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class NewClaimResult:
    patient_id: int | None
    admission_id: int | None
    hospital_admission_id: int | None

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> NewClaimResult:
        return cls(as_int(response.get("patient_id")), as_int(response.get("admission_id")),
                   as_int(response.get("hospital_admission_id")))


@dataclass(frozen=True)
class Group:
    """A CBG, sub-acute or chronic group: code, description and tariff (None when the answer has none)."""

    code: str
    description: str
    tariff: int | None

    @classmethod
    def parse(cls, item: Any) -> Group | None:
        if not isinstance(item, Mapping) or not item.get("code"):
            return None
        return cls(str(item["code"]), str(item.get("description") or ""), as_int(item.get("tariff")))


@dataclass(frozen=True)
class SpecialCmg:
    """A special CMG of a stage-2 grouping (e.g. YY-01-II, Special Procedure)."""

    code: str
    description: str
    tariff: int | None
    type: str


@dataclass(frozen=True)
class SpecialCmgOption:
    """A special CMG the stage-1 grouping offers (e.g. RR04, Special Prosthesis); choose it in stage 2."""

    code: str
    description: str
    type: str


@dataclass(frozen=True)
class TarifAlt:
    """The tariff of the same grouping in another class (kelas_1/2/3)."""

    kelas: str
    tarif_inacbg: int | None
    tarif_sp: int | None = None
    tarif_sr: int | None = None
    tarif_si: int | None = None
    tarif_sd: int | None = None


@dataclass(frozen=True)
class GroupingResult:
    """The grouper answer (stage 1 or 2); `is_error` for the X-0-nn-X groups E-Klaim returns instead of errors."""

    cbg: Group
    sub_acute: Group | None
    chronic: Group | None
    special_cmg: tuple[SpecialCmg, ...]
    special_cmg_option: tuple[SpecialCmgOption, ...]
    kelas: str | None
    add_payment_amt: int
    inacbg_version: str | None
    tarif_alt: tuple[TarifAlt, ...]
    raw: Mapping[str, Any]

    @property
    def is_error(self) -> bool:
        return self.cbg.code.startswith("X")

    @property
    def total_tariff(self) -> int:
        """CBG + sub-acute + chronic + chosen special CMGs (what the claim is worth, before add_payment)."""
        parts = [self.cbg, self.sub_acute, self.chronic, *self.special_cmg]
        return sum(part.tariff or 0 for part in parts if part is not None)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> GroupingResult:
        """Parse `{response | response_inacbg, special_cmg_option, tarif_alt}` (grouper, or get_claim_data's
        grouper block)."""
        response = answer.get("response") or answer.get("response_inacbg") or {}
        if not isinstance(response, Mapping):
            response = {}
        cbg = Group.parse(response.get("cbg")) or Group("", "", None)
        if cbg.tariff is None:  # 5.10 servers put the tariff beside the cbg
            cbg = Group(cbg.code, cbg.description, as_int(response.get("base_tariff") or response.get("tariff")))
        specials = tuple(
            SpecialCmg(str(item.get("code", "")), str(item.get("description") or ""), as_int(item.get("tariff")),
                       str(item.get("type") or ""))
            for item in response.get("special_cmg") or () if isinstance(item, Mapping))
        options = tuple(
            SpecialCmgOption(str(item.get("code", "")), str(item.get("description") or ""), str(item.get("type") or ""))
            for item in answer.get("special_cmg_option") or () if isinstance(item, Mapping))
        alternatives = tuple(
            TarifAlt(str(item.get("kelas", "")), as_int(item.get("tarif_inacbg")), as_int(item.get("tarif_sp")),
                     as_int(item.get("tarif_sr")), as_int(item.get("tarif_si")), as_int(item.get("tarif_sd")))
            for item in answer.get("tarif_alt") or () if isinstance(item, Mapping))
        return cls(cbg=cbg, sub_acute=Group.parse(response.get("sub_acute")),
                   chronic=Group.parse(response.get("chronic")), special_cmg=specials, special_cmg_option=options,
                   kelas=_text(response.get("kelas")), add_payment_amt=as_int(response.get("add_payment_amt")) or 0,
                   inacbg_version=_text(response.get("inacbg_version")), tarif_alt=alternatives, raw=dict(answer))


@dataclass(frozen=True)
class DataCentreStatus:
    """One claim of a send_claim / send_claim_individual answer."""

    nomor_sep: str
    tgl_pulang: str | None
    kemkes_dc_status: str | None
    bpjs_dc_status: str | None
    cob_dc_status: str | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> DataCentreStatus:
        def pick(*keys: str) -> str | None:
            for key in keys:
                if item.get(key) is not None:
                    return str(item[key])
            return None

        return cls(nomor_sep=pick("nomor_sep", "SEP") or "", tgl_pulang=pick("tgl_pulang"),
                   kemkes_dc_status=pick("kemkes_dc_status", "kemkes_dc_Status"),
                   bpjs_dc_status=pick("bpjs_dc_status", "bpjs_dc_Status"),
                   cob_dc_status=pick("cob_dc_status", "cob_dc_Status"))


@dataclass(frozen=True)
class ClaimStatus:
    """get_claim_status: the BPJS status of the SEP (e.g. `40` / `40_Proses_Cabang`)."""

    kd_status_sep: str | None
    nm_status_sep: str | None
    raw: Mapping[str, Any]

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> ClaimStatus:
        return cls(_text(response.get("kdStatusSep")), _text(response.get("nmStatusSep")), dict(response))


@dataclass(frozen=True)
class ClaimRecord:
    """get_claim_data: the whole stored claim (`data`, E-Klaim's names and types) with a few readings of it."""

    data: Mapping[str, Any]

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> ClaimRecord:
        inner = response.get("data")
        return cls(dict(inner) if isinstance(inner, Mapping) else dict(response))

    @property
    def nomor_sep(self) -> str | None:
        return _text(self.data.get("nomor_sep"))

    @property
    def klaim_status_cd(self) -> str | None:
        """`normal` or `final`."""
        return _text(self.data.get("klaim_status_cd"))

    @property
    def is_final(self) -> bool:
        return self.klaim_status_cd == "final"

    @property
    def kemenkes_dc_status_cd(self) -> str | None:
        return _text(self.data.get("kemenkes_dc_status_cd"))

    @property
    def bpjs_dc_status_cd(self) -> str | None:
        return _text(self.data.get("bpjs_dc_status_cd"))

    @property
    def grouping(self) -> GroupingResult | None:
        """The last grouping result, or None if the claim was not grouped since its data last changed."""
        block = self.data.get("grouper", self.data.get(" grouper"))  # the manual's example has a stray space
        if not isinstance(block, Mapping):
            return None
        result = GroupingResult.from_answer(block)
        return result if result.cbg.code else None

    @property
    def idrg(self) -> IdrgResult | None:
        """The last iDRG grouping (5.10 servers), or None."""
        block = self.data.get("grouper", self.data.get(" grouper"))
        if not isinstance(block, Mapping) or not isinstance(block.get("response_idrg"), Mapping):
            return None
        result = IdrgResult.from_answer(block)
        return result if result.drg_code else None


@dataclass(frozen=True)
class CodedItem:
    """One code of a 5.10 coding answer's `expanded` list: valid (`validcode` "1") or refused with its own
    `metadata` error (E2101 "IM tidak berlaku": an ICD-10-IM / ICD-9-CM-IM code INA-CBG does not know)."""

    code: str
    display: str
    no: str
    valid: bool
    multiplicity: int
    error_no: str | None
    message: str | None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> CodedItem:
        meta = item.get("metadata") if isinstance(item.get("metadata"), Mapping) else {}
        multiplicity = as_int(item.get("multiplicity", item.get("multiply")))  # the _get answers say "multiply"
        return cls(code=str(item.get("code") or ""), display=str(item.get("display") or ""),
                   no=str(item.get("no") or ""), valid=str(item.get("validcode", "1")) == "1",
                   multiplicity=multiplicity or 1, error_no=_text(meta.get("error_no")),
                   message=_text(meta.get("message")))


@dataclass(frozen=True)
class Coding:
    """A 5.10 coding answer (idrg_/inacbg_ diagnosa/procedure set/get): the stored `#` string and each code."""

    string: str
    expanded: tuple[CodedItem, ...]

    @classmethod
    def parse(cls, block: Any) -> Coding:
        if not isinstance(block, Mapping):
            return cls("", ())
        items = block.get("expanded") or ()
        if isinstance(items, Mapping):  # inacbg_diagnosa_get answers {"1": {...}, "2": {...}}
            items = [items[key] for key in sorted(items, key=lambda k: as_int(k) or 0)]
        return cls(str(block.get("string") or ""),
                   tuple(CodedItem.parse(item) for item in items if isinstance(item, Mapping)))

    @property
    def codes(self) -> list[str]:
        return [item.code for item in self.expanded]

    @property
    def refused(self) -> list[CodedItem]:
        """The codes E-Klaim did not take (validcode "0")."""
        return [item for item in self.expanded if not item.valid]


@dataclass(frozen=True)
class CodingImport:
    """idrg_to_inacbg_import: the iDRG coding copied to INA-CBG, code by code (IM-only codes refused)."""

    diagnosa: Coding
    procedure: Coding

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> CodingImport:
        data = answer.get("data") if isinstance(answer.get("data"), Mapping) else {}
        return cls(Coding.parse(data.get("diagnosa")), Coding.parse(data.get("procedure")))


@dataclass(frozen=True)
class IdrgResult:
    """The iDRG grouper answer (`response_idrg`): MDC, DRG, weights, the grouper's versions. Numbers come as
    strings ("1.34", "8037060"); `tariff` = total_cost_weight × nbr. MDC 36 is "Ungroupable or Unrelated"."""

    mdc_number: str
    mdc_description: str
    drg_code: str
    drg_description: str
    cost_weight: Decimal | None
    sub_acute_weight: Decimal | None
    chronic_weight: Decimal | None
    total_cost_weight: Decimal | None
    nbr: int | None
    script_version: str | None
    logic_version: str | None
    status_cd: str | None
    raw: Mapping[str, Any]

    @property
    def is_ungroupable(self) -> bool:
        return self.mdc_number == "36" or self.drg_code.startswith("36")

    @property
    def tariff(self) -> int | None:
        if self.total_cost_weight is None or self.nbr is None:
            return None
        return int((self.total_cost_weight * self.nbr).to_integral_value())

    @property
    def topup_options(self) -> list[str]:
        """The top-up codes stage 1 offered (`topup_options`: implants, prostheses), for a stage 2 choice."""
        options = self.raw.get("topup_options")
        return [str(o["code"]) for o in options or [] if isinstance(o, Mapping) and o.get("code")] if isinstance(
            options, list) else []

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> IdrgResult:
        """Parse `{response_idrg: {...}}` (grouper idrg, or get_claim_data's grouper block)."""
        block = answer.get("response_idrg")
        raw = dict(block) if isinstance(block, Mapping) else {}
        return cls(mdc_number=str(raw.get("mdc_number") or ""), mdc_description=str(raw.get("mdc_description") or ""),
                   drg_code=str(raw.get("drg_code") or ""), drg_description=str(raw.get("drg_description") or ""),
                   cost_weight=_decimal(raw.get("cost_weight")), sub_acute_weight=_decimal(raw.get("sub_acute_weight")),
                   chronic_weight=_decimal(raw.get("chronic_weight")),
                   total_cost_weight=_decimal(raw.get("total_cost_weight")), nbr=as_int(raw.get("nbr")),
                   script_version=_text(raw.get("script_version")), logic_version=_text(raw.get("logic_version")),
                   status_cd=_text(raw.get("status_cd")), raw=raw)


@dataclass(frozen=True)
class SitbValidation:
    """sitb_validate: `status` VALID | INVALID with E-Klaim's `detail` (an INVALID register is a 200 answer)."""

    status: str
    detail: str
    raw: Mapping[str, Any]

    @property
    def is_valid(self) -> bool:
        return self.status.upper() == "VALID"

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> SitbValidation:
        response = answer.get("response") if isinstance(answer.get("response"), Mapping) else {}
        return cls(str(response.get("status") or ""), str(response.get("detail") or ""), dict(answer))


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or str(value).strip() in ("", "-"):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def parse_claim_txt(text: str) -> list[dict[str, str]]:
    """pull_claim's tab-separated export (header line, one line per claim) as one dict per claim."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [dict(row) for row in reader]
