"""Reading the `data` of set_claim_data, new_claim and update_patient the way E-Klaim does.

- A field that is absent, null or `""` is unchanged (the manual: `""` "berarti tidak ada perubahan").
- `#` clears a code list; other code lists keep only the codes valid in the ICD editions in force — an invalid code
  "tidak akan tersimpan" (is not stored).
- Values the manual gives an error number for are refused with it: dates E2019, jenis_rawat E2028 (kode_tarif
  E2014 is checked by the caller, which knows the hospital's setup).
- Any other value outside its field's value set (kelas_rawat 7, an ADL score of 5, a negative amount) is treated
  like an invalid code: not stored, the old value stays.

Values are stored as normalised strings ("1", "2016-10-26 12:55:00", "80000000"), the form the grouper takes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError
from fhirclaim.eklaim.emulator.config import CodeChecker

log = logging.getLogger(__name__)

# The set_claim_data fields of the 2017 manual (nomor_sep and coder_nik are handled by the method itself).
CLAIM_FIELDS = (
    "nomor_kartu", "tgl_masuk", "tgl_pulang", "jenis_rawat", "kelas_rawat", "adl_sub_acute", "adl_chronic",
    "icu_indikator", "icu_los", "ventilator_hour", "upgrade_class_ind", "upgrade_class_class", "upgrade_class_los",
    "add_payment_pct", "birth_weight", "discharge_status", "diagnosa", "procedure", "tarif_rs", "tarif_poli_eks",
    "nama_dokter", "kode_tarif", "payor_id", "payor_cd",
)
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_ACCEPTED_DATETIME_FORMATS = (DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d")
CLEAR = "#"


class NotStored(ValueError):
    """A value outside its field's value set: E-Klaim keeps the old value."""


# --- single values ------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    if isinstance(value, (dict, list, bool)):
        raise NotStored("not a text")
    return str(value).strip()


def timestamp(value: Any) -> str:
    """A date-time in one of E-Klaim's forms, normalised to `YYYY-MM-DD HH:MM:SS`; anything else is E2019."""
    parsed = parse_timestamp(value)
    if parsed is None:
        raise WsError("E2019")
    return parsed.strftime(DATETIME_FORMAT)


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    for form in _ACCEPTED_DATETIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), form)
        except ValueError:
            continue
    return None


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        candidate = _integer_text(value) if not isinstance(value, str) else value.strip()
        if candidate not in allowed:
            raise NotStored(f"not one of {allowed}")
        return candidate

    return parse


def jenis_rawat(value: Any) -> str:
    """1 = rawat inap, 2 = rawat jalan; anything else is E2028."""
    try:
        return choice("1", "2")(value)
    except NotStored:
        raise WsError("E2028") from None


def adl_score(value: Any) -> str:
    """ADL scores run from 12 to 60; 0 means "no score" (no sub-acute / chronic grouping)."""
    score = int(count(value))
    if score != 0 and not 12 <= score <= 60:
        raise NotStored("ADL score outside 12..60")
    return str(score)


def count(value: Any) -> str:
    """A non-negative whole number (days, hours, grams)."""
    number = _decimal(value)
    if number != number.to_integral_value():
        raise NotStored("not a whole number")
    return str(int(number))


def amount(value: Any) -> str:
    """A non-negative amount of rupiah or a percentage: `80000000`, `35`, `12.5`."""
    return _decimal_text(_decimal(value))


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, (dict, list)) or value is None:
        raise NotStored("not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise NotStored("not a number") from None
    if not number.is_finite() or number < 0:
        raise NotStored("not a non-negative number")
    return number


def _decimal_text(number: Decimal) -> str:
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _integer_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    return str(int(value)) if value == int(value) else str(value)


def code_list(value: Any, normalise: Callable[[str], str | None]) -> str:
    """`#`-joined codes: `#` clears; invalid codes are dropped (not stored), duplicates kept once."""
    if not isinstance(value, str):
        raise NotStored("code list must be a string")
    if value.strip() == CLEAR:
        return ""
    kept: list[str] = []
    for raw in value.split(CLEAR):
        raw = raw.strip()
        if not raw:
            continue
        code = normalise(raw)
        if code is None:
            log.info("code %r is not valid: not stored", raw)
        elif code not in kept:
            kept.append(code)
    return CLEAR.join(kept)


def tarif_rs(value: Any) -> tuple[str, str | None]:
    """The hospital's bill: one amount (2017 manual) or a 5.10-style object of amounts, stored with its sum."""
    if isinstance(value, Mapping):
        parts = {str(key): amount(part) for key, part in value.items()}
        total = sum((Decimal(part) for part in parts.values()), Decimal(0))
        return _decimal_text(total), json.dumps(parts, sort_keys=False)
    return amount(value), None


# --- whole messages -----------------------------------------------------------------------------------------

_PARSERS: dict[str, Callable[[Any], str]] = {
    "nomor_kartu": text,
    "tgl_masuk": timestamp,
    "tgl_pulang": timestamp,
    "jenis_rawat": jenis_rawat,
    "kelas_rawat": choice("1", "2", "3"),
    "adl_sub_acute": adl_score,
    "adl_chronic": adl_score,
    "icu_indikator": choice("0", "1"),
    "icu_los": count,
    "ventilator_hour": count,
    "upgrade_class_ind": choice("0", "1"),
    "upgrade_class_class": choice("kelas_1", "kelas_2", "vip"),
    "upgrade_class_los": count,
    "add_payment_pct": amount,
    "birth_weight": count,
    "discharge_status": choice("1", "2", "3", "4", "5"),
    "tarif_poli_eks": amount,
    "nama_dokter": text,
    "kode_tarif": text,
    "payor_id": text,
    "payor_cd": text,
}


def is_unchanged(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def parse_claim_update(data: Mapping[str, Any], codes: CodeChecker) -> dict[str, Any]:
    """The fields of a set_claim_data `data` that change something, parsed; refusals raise WsError."""
    changes: dict[str, Any] = {}
    for name in CLAIM_FIELDS:
        value = data.get(name)
        if is_unchanged(value):
            continue
        try:
            if name == "diagnosa":
                changes[name] = code_list(value, codes.diagnosis)
            elif name == "procedure":
                changes[name] = code_list(value, codes.procedure)
            elif name == "tarif_rs":
                changes["tarif_rs"], changes["tarif_rs_detail"] = tarif_rs(value)
            else:
                changes[name] = _PARSERS[name](value)
        except NotStored as reason:
            log.info("set_claim_data %s not stored: %s", name, reason)
    return changes


def parse_patient(data: Mapping[str, Any]) -> dict[str, str]:
    """new_claim / update_patient patient fields; tgl_lahir must be a date (E2019), gender 1 or 2."""
    patient: dict[str, str] = {}
    for name in ("nomor_kartu", "nama_pasien", "nomor_rm"):
        if not is_unchanged(data.get(name)):
            try:
                patient[name] = text(data[name])
            except NotStored:
                continue
    if not is_unchanged(data.get("tgl_lahir")):
        patient["tgl_lahir"] = timestamp(data["tgl_lahir"])
    if not is_unchanged(data.get("gender")):
        try:
            patient["gender"] = choice("1", "2")(data["gender"])
        except NotStored:
            log.info("gender %r not stored", data["gender"])
    return patient
