"""Typed requests and parsed answers of the E-Klaim web service, in E-Klaim's own field names.

Requests are small frozen dataclasses whose `to_data()` gives the `data` object of the call, with values written
the way E-Klaim expects them (strings, `YYYY-MM-DD HH:MM:SS` dates, `#`-joined code lists). In a
`ClaimDataUpdate` a field left at None is not sent, which E-Klaim reads as "unchanged"; an empty code list is sent
as `#`, which clears it.

Answers are parsed leniently, because real servers differ from the manual in small ways: codes and amounts come as
numbers or strings, send_claim items say `SEP`/`kemkes_dc_Status` or `nomor_sep`/`kemkes_dc_status`, and 5.10
servers put the grouping under `response_inacbg` instead of `response`. Every parsed answer keeps the `raw` dict.
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


@dataclass(frozen=True)
class ClaimDataUpdate:
    """set_claim_data: only the fields given are sent (None = unchanged); `coder_nik` is mandatory.

    `nomor_sep` here is a new SEP number for the claim (the claim itself is named by the call's nomor_sep).
    `extra` carries fields of later manuals (cara_masuk, sistole, tarif_rs as an object, ...) verbatim.
    """

    coder_nik: str
    nomor_sep: str | None = None
    nomor_kartu: str | None = None
    tgl_masuk: Dateish | None = _kind("datetime")
    tgl_pulang: Dateish | None = _kind("datetime")
    jenis_rawat: int | str | None = _kind("number")  # 1 inap, 2 jalan
    kelas_rawat: int | str | None = _kind("number")  # 1, 2, 3 (rawat jalan: 3 regular, 1 eksekutif)
    adl_sub_acute: int | str | None = _kind("number")  # 12..60
    adl_chronic: int | str | None = _kind("number")  # 12..60
    icu_indikator: int | str | None = _kind("number")
    icu_los: int | str | None = _kind("number")
    ventilator_hour: int | str | None = _kind("number")
    upgrade_class_ind: int | str | None = _kind("number")
    upgrade_class_class: str | None = None  # kelas_1, kelas_2, vip
    upgrade_class_los: int | str | None = _kind("number")
    add_payment_pct: Number | None = _kind("number")
    birth_weight: int | str | None = _kind("number")
    discharge_status: int | str | None = _kind("number")  # 1..5
    diagnosa: CodeList | None = _kind("codes")  # ICD-10, principal first
    procedure: CodeList | None = _kind("codes")  # ICD-9-CM
    tarif_rs: Number | None = _kind("number")
    tarif_poli_eks: Number | None = _kind("number")
    nama_dokter: str | None = None
    kode_tarif: str | None = None
    payor_id: int | str | None = _kind("number")
    payor_cd: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return _data(self)


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


def parse_claim_txt(text: str) -> list[dict[str, str]]:
    """pull_claim's tab-separated export (header line, one line per claim) as one dict per claim."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [dict(row) for row in reader]
