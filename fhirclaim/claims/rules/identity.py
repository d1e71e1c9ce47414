"""Identity and eligibility rules (seed 003: patient identity and membership problems): what the NIK encodes
(birth date, sex), one JKN card number, a Coverage active on the day of admission, a well-formed SEP number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from fhirclaim.claims import systems
from fhirclaim.claims.fhirvalues import parse_date
from fhirclaim.claims.rules.base import Case, Finding


def nik_birth_date(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    nik, where = _nik(case)
    encoded = _nik_birth(nik, case.facts.birth_date) if nik else None
    born = case.facts.birth_date
    if encoded and born and (encoded.day, encoded.month, encoded.year % 100) != (born.day, born.month, born.year % 100):
        yield Finding((where, "Patient.birthDate"), {"nik_date": encoded.strftime("%d-%m-%y"),
                                                     "birth_date": born.isoformat()})


def nik_sex(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    nik, where = _nik(case)
    gender = (case.ctx.patient or {}).get("gender")
    if not (nik and gender in ("male", "female")):
        return
    encoded = "female" if int(nik[6:8]) > 40 else "male"
    if encoded != gender:
        yield Finding((where, "Patient.gender"), {"nik_sex": encoded, "gender": gender})


def card_mismatch(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """Every JKN card number the claim carries is the same 13-digit number."""
    found = _card_numbers(case)
    values = {value for value, _ in found}
    malformed = [(v, w) for v, w in found if not re.fullmatch(params["pattern"], v)]
    if len(values) > 1 or malformed:
        shown = malformed or found
        yield Finding(tuple(dict.fromkeys(w for _, w in shown)), {"cards": ", ".join(sorted({v for v, _ in shown}))})


def coverage_inactive(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    coverage, admission = case.ctx.coverage, case.facts.admission
    if coverage is None:
        return
    if coverage.get("status") not in (None, "active"):
        yield Finding(("Coverage.status",), {"state": coverage.get("status"), "day": _day(admission)})
        return
    period = coverage.get("period") or {}
    start, end = parse_date(str(period.get("start", ""))[:10]), parse_date(str(period.get("end", ""))[:10])
    if admission and ((start and admission.date() < start) or (end and admission.date() > end)):
        yield Finding(("Coverage.period", case.facts.where["admission"]),
                      {"state": f"{start or '…'} – {end or '…'}", "day": _day(admission)})


def sep_malformed(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    sep = case.facts.nomor_sep
    if sep and not case.facts.number_generated and not re.fullmatch(params["pattern"], sep):  # E-Klaim's own form
        yield Finding((case.facts.where["nomor_sep"],), {"sep": sep})


def _nik(case: Case) -> tuple[str | None, str]:
    for index, identifier in enumerate((case.ctx.patient or {}).get("identifier") or []):
        if identifier.get("system") == systems.NIK_SYSTEM and isinstance(identifier.get("value"), str):
            value = identifier["value"].strip()
            return (value if re.fullmatch(r"\d{16}", value) else None), f"Patient.identifier[{index}].value"
    return None, "Patient.identifier"


def _nik_birth(nik: str, born: date | None) -> date | None:
    """Digits 7-12 are DDMMYY, with 40 added to the day for women; the century is taken from the record."""
    day, month, year = int(nik[6:8]) % 40, int(nik[8:10]), int(nik[10:12])
    century = (born.year // 100) * 100 if born else 2000
    try:
        return date(century + year, month, day)
    except ValueError:
        return date(1, 1, 1)  # not a date at all: reported as a mismatch


def _card_numbers(case: Case) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    coverage = case.ctx.coverage or {}
    if isinstance(coverage.get("subscriberId"), str) and coverage["subscriberId"].strip():
        found.append((coverage["subscriberId"].strip(), "Coverage.subscriberId"))
    for owner, resource in (("Coverage", coverage), ("Patient", case.ctx.patient or {})):
        for index, identifier in enumerate(resource.get("identifier") or []):
            if systems.CARD_SYSTEM.match(str(identifier.get("system", ""))) and identifier.get("value"):
                found.append((str(identifier["value"]).strip(), f"{owner}.identifier[{index}].value"))
    return found


def _day(moment: Any) -> str:
    return moment.date().isoformat() if moment else "-"
