"""Length of stay and age, counted the way E-Klaim's answers show them.

The manual's examples fix the rules: 26/10/2016 → 18/12/2016 is a stay of 54 days and 01/07/2015 → 07/01/2016
one of 191 (calendar days between the dates, plus one: a same-day visit is 1); a patient born 15/03/1950 and
admitted 26/10/2016 is 66 years or 24332 days old (age at admission).
"""

from __future__ import annotations

from datetime import date, datetime

from fhirclaim.eklaim.emulator.fields import parse_timestamp


def length_of_stay(tgl_masuk: str, tgl_pulang: str) -> int | None:
    admitted, discharged = parse_timestamp(tgl_masuk), parse_timestamp(tgl_pulang)
    if admitted is None or discharged is None:
        return None
    return (discharged.date() - admitted.date()).days + 1


def age_at(tgl_lahir: str, moment: datetime) -> tuple[int, int] | None:
    """(whole years, days) from birth to `moment`."""
    born = parse_timestamp(tgl_lahir)
    if born is None:
        return None
    day: date = moment.date()
    years = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return years, (day - born.date()).days


def dmy(timestamp: str) -> str:
    """`dd/mm/yyyy` as get_claim_data and the TXT export write dates; "" for no date."""
    parsed = parse_timestamp(timestamp)
    return parsed.strftime("%d/%m/%Y") if parsed else ""
