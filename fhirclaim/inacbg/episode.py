"""From the set_claim_data fields as sent (strings, mostly) to a checked `Episode`, or the error group that stops it.

The checks run in a fixed order and the first failure names the answer, as a grouper's editor does: the stay's
kind and dates, missing and invalid parameters, the codes, then the clinical edits of seed 004. Which input
reaches which group is written beside each group in data/error_groups.csv. The order:

    X-0-18-X jenis_rawat · X-0-17/19/20-X dates · X-0-94-X missing data · X-0-98-X parameters and special_cmg ·
    X-0-03-X no principal · X-0-95/96-X unknown codes · X-0-08-X stay · X-0-04-X age · X-0-05-X gender ·
    X-0-06-X discharge status · X-0-94/98-X upgrade fields · X-0-01/02/13/05/15-X principal edits ·
    X-0-13-X caesarean without O82 · X-0-09-X inpatient procedure on an outpatient · X-0-07/10-X birth weight ·
    then, in the grouper: X-0-21/22-X ADL scores · X-0-00-X no CBG · X-0-99-X no tariff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fhirclaim.inacbg.grouper_tables import Tables
from fhirclaim.inacbg.tariffs import KELAS
from fhirclaim.terminology import icd9cm, icd10

MIN_TARIF_RS = 15_000
NEONATE_DAYS = 28
KODE_TARIF = ("AP", "AS", "BP", "BS", "CP", "CS", "DP", "DS", "RSCM", "RSJP", "RSD", "RSAB")
UPGRADE_CLASSES = ("kelas_1", "kelas_2", "vip")
_DATE_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?: (?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?")


class Ungroupable(Exception):  # noqa: N818 - a grouping outcome, not a failure of the program
    """The claim lands in an error group (X-0-…-X); raised by checks, answered by the grouper."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Upgrade:
    target: str  # kelas_1 | kelas_2 | vip
    days: int
    pct: Decimal


@dataclass(frozen=True)
class Episode:
    """A claim that passed every edit, in the grouper's terms."""

    inpatient: bool
    admitted: date
    discharged: date
    los: int  # days, the discharge day counted: a same-day stay is 1 (E-Klaim's `los`)
    age_days: int
    age_years: int
    male: bool
    kelas: str  # kelas_1 | kelas_2 | kelas_3
    kode_tarif: str
    principal: str
    secondaries: tuple[str, ...]
    procedures: tuple[str, ...]
    upgrade: Upgrade | None
    special_cmg: tuple[str, ...]

    @property
    def neonate(self) -> bool:
        return self.age_days < NEONATE_DAYS


# --- reading raw values -------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A field as trimmed text; absent, null and non-scalar values read as ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return ""
    return str(value).strip()


def number(value: Any) -> Decimal | None:
    """A numeric field ("80000000", 80000000, "35", "0.0"); None when absent or not a finite number.
    The 5.10 manual sends tarif_rs as an object of cost components: their sum is the tariff."""
    if isinstance(value, Mapping):
        parts = [number(part) for part in value.values()]
        return None if not parts or None in parts else sum(parts, Decimal(0))
    try:
        found = Decimal(text(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def whole(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None and found == found.to_integral_value() else None


def day(value: Any) -> date | None:
    """A date from "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD" (a regular expression: strptime
    would be a third of the grouper's time)."""
    found = _DATE_TIME.fullmatch(text(value))
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def codes(value: Any) -> list[str]:
    """A '#'-joined code list ("S71.0#A00.1"; "#" and "" are empty) or a list of codes."""
    items = value if isinstance(value, list | tuple) else text(value).split("#")
    return [text(item) for item in items if text(item)]


def given(value: Any) -> bool:
    return text(value) != ""


def score(value: Any) -> int | None:
    """An ADL score; 0 and absent both mean "not given", as E-Klaim sends "0" for no score."""
    return whole(value) if given(value) else 0


# --- the editor ---------------------------------------------------------------------------------------------


def read_episode(claim: Mapping[str, Any], special_cmg: Sequence[str], tables: Tables) -> Episode:
    """The checked episode of a claim; raises Ungroupable with the first error group that applies."""
    inpatient = _jenis_rawat(claim)
    admitted, discharged, born = _dates(claim)
    kode_tarif, kelas = _mandatory(claim)
    chosen = _special_choice(special_cmg, tables)
    diagnoses, procedures = _codes(claim)
    los = _length_of_stay(claim, admitted, discharged)
    age_days = _age(admitted, born)
    male = _gender(claim)
    _discharge_status(claim)
    upgrade = _upgrade(claim, kelas, los, inpatient)
    episode = Episode(
        inpatient=inpatient, admitted=admitted, discharged=discharged, los=los, age_days=age_days,
        age_years=_years(born, admitted), male=male, kelas=kelas, kode_tarif=kode_tarif,
        principal=diagnoses[0], secondaries=tuple(diagnoses[1:]), procedures=tuple(procedures),
        upgrade=upgrade, special_cmg=chosen)
    _principal_edits(episode, tables)
    _procedure_edits(episode, tables)
    _birth_weight(claim, episode)
    return episode


def _jenis_rawat(claim: Mapping[str, Any]) -> bool:
    kind = text(claim.get("jenis_rawat"))
    if kind not in ("1", "2"):
        raise Ungroupable("X-0-18-X")
    return kind == "1"


def _dates(claim: Mapping[str, Any]) -> tuple[date, date, date]:
    found = []
    for field, error in (("tgl_masuk", "X-0-17-X"), ("tgl_pulang", "X-0-19-X"), ("tgl_lahir", "X-0-20-X")):
        value = day(claim.get(field))
        if value is None:
            raise Ungroupable(error)
        found.append(value)
    return found[0], found[1], found[2]


def _mandatory(claim: Mapping[str, Any]) -> tuple[str, str]:
    """kode_tarif and kelas; X-0-94-X when they or a tarif_rs of at least 15,000 are missing."""
    tarif_rs = number(claim.get("tarif_rs"))
    kode_tarif, kelas = text(claim.get("kode_tarif")).upper(), text(claim.get("kelas_rawat"))
    if tarif_rs is None or tarif_rs < MIN_TARIF_RS or not kode_tarif or not kelas:
        raise Ungroupable("X-0-94-X")
    if kode_tarif not in KODE_TARIF or f"kelas_{kelas}" not in KELAS:
        raise Ungroupable("X-0-98-X")
    for field in ("icu_los", "ventilator_hour"):
        if given(claim.get(field)) and whole(claim.get(field)) is None:
            raise Ungroupable("X-0-98-X")
    return kode_tarif, f"kelas_{kelas}"


def _special_choice(special_cmg: Sequence[str], tables: Tables) -> tuple[str, ...]:
    """Stage-2 choices: known option codes, at most one per type (the manual joins codes of different types)."""
    chosen = tuple(dict.fromkeys(text(code) for code in special_cmg if text(code)))
    known = {special.option_code: special.type for special in tables.specials}
    types = [known.get(code) for code in chosen]
    if None in types or len(set(types)) != len(types):
        raise Ungroupable("X-0-98-X")
    return chosen


def _codes(claim: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    diagnoses = [icd10.normalize(code) for code in codes(claim.get("diagnosa"))]
    procedures = [icd9cm.normalize(code) for code in codes(claim.get("procedure"))]
    if not diagnoses:
        raise Ungroupable("X-0-03-X")
    if not all(icd10.is_valid(code) for code in diagnoses):
        raise Ungroupable("X-0-95-X")
    if not all(icd9cm.is_valid(code) for code in procedures):
        raise Ungroupable("X-0-96-X")
    return diagnoses, procedures


def _length_of_stay(claim: Mapping[str, Any], admitted: date, discharged: date) -> int:
    los = (discharged - admitted).days + 1
    icu_los = whole(claim.get("icu_los")) or 0
    if los < 1 or icu_los > los:
        raise Ungroupable("X-0-08-X")
    return los


def _age(admitted: date, born: date) -> int:
    days = (admitted - born).days
    if days < 0 or _years(born, admitted) >= 125:
        raise Ungroupable("X-0-04-X")
    return days


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _gender(claim: Mapping[str, Any]) -> bool:
    gender = text(claim.get("gender"))
    if gender not in ("1", "2"):
        raise Ungroupable("X-0-05-X")
    return gender == "1"


def _discharge_status(claim: Mapping[str, Any]) -> None:
    if text(claim.get("discharge_status")) not in ("1", "2", "3", "4", "5"):
        raise Ungroupable("X-0-06-X")


def _upgrade(claim: Mapping[str, Any], kelas: str, los: int, inpatient: bool) -> Upgrade | None:
    """The class upgrade, when upgrade_class_ind is 1 on an inpatient claim (outpatients have no room class)."""
    if text(claim.get("upgrade_class_ind")) != "1" or not inpatient:
        return None
    target = text(claim.get("upgrade_class_class")).lower()
    days_text, pct_text = claim.get("upgrade_class_los"), claim.get("add_payment_pct")
    if not target or not given(days_text) or (target == "vip" and not given(pct_text)):
        raise Ungroupable("X-0-94-X")
    days, pct = whole(days_text), number(pct_text) if given(pct_text) else Decimal(0)
    if (target not in UPGRADE_CLASSES or days is None or pct is None or not 1 <= days <= los
            or not 0 <= pct <= 100 or (target != "vip" and target >= kelas)):
        raise Ungroupable("X-0-98-X")
    return Upgrade(target, days, pct)


def _principal_edits(episode: Episode, tables: Tables) -> None:
    rule = tables.principal_rule.get(episode.principal)
    if rule == "never_principal" or icd10.is_asterisk(episode.principal):
        raise Ungroupable("X-0-01-X")
    if rule == "not_claimable":
        raise Ungroupable("X-0-02-X")
    if rule == "female_only_obstetric" and episode.male:
        raise Ungroupable("X-0-13-X")
    if (rule == "male_only" and not episode.male) or (rule == "female_only" and episode.male):
        raise Ungroupable("X-0-05-X")
    if rule == "neonatal_only" and not episode.neonate:
        raise Ungroupable("X-0-15-X")


def _procedure_edits(episode: Episode, tables: Tables) -> None:
    for procedure_codes, principals in tables.procedure_requirements:
        if procedure_codes.contains_any(episode.procedures) and episode.principal not in principals:
            raise Ungroupable("X-0-13-X")
    if not episode.inpatient and any(
            (kind := tables.procedure_class.get(code)) and kind.inpatient_only for code in episode.procedures):
        raise Ungroupable("X-0-09-X")


def _birth_weight(claim: Mapping[str, Any], episode: Episode) -> None:
    """Seed 004: a newborn (0-28 days) needs a birth weight in grams; a low one is not an outpatient case."""
    raw = claim.get("birth_weight")
    weight = whole(raw) if given(raw) else 0
    if weight is None or weight < 0:
        raise Ungroupable("X-0-07-X")
    if not episode.neonate:
        return
    if (episode.inpatient and weight == 0) or (weight and not 300 <= weight <= 7000):
        raise Ungroupable("X-0-07-X")
    if not episode.inpatient and 0 < weight < 2500:
        raise Ungroupable("X-0-10-X")


def read_adl(claim: Mapping[str, Any], field: str, error: str, allowed: bool) -> int | None:
    """An ADL score (12..60) when one is given; X-0-21-X / X-0-22-X when it is malformed, out of range, or given
    where sub-acute / chronic care has no group (outpatients, deliveries, neonates: `allowed` False)."""
    found = score(claim.get(field))
    if found == 0:
        return None
    if found is None or not 12 <= found <= 60 or not allowed:
        raise Ungroupable(error)
    return found
