"""send_claim (collective, per period) and send_claim_individual: final claims to the Kemenkes data centre.

The answers follow the evidence for each method: the collective send as both manuals show it (`SEP`,
`kemkes_dc_Status`, `bpjs_dc_Status`), the individual send as real servers answer it (`nomor_sep`,
`kemkes_dc_status`, `bpjs_dc_status`). Sending again is harmless (the claim stays `sent`); the BPJS data centre
only receives claims when the emulator is configured so (`bpjs_dc_enabled`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, one_claim, require_hospital_setup
from fhirclaim.eklaim.emulator.claims import FINAL, SENT
from fhirclaim.eklaim.emulator.fields import DATETIME_FORMAT, parse_timestamp
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.store import record_event

# send_claim / pull_claim jenis_rawat: 1 inap, 2 jalan, 3 both (the 5.10 manual's default)
JENIS_RAWAT_FILTER = {"1": ("1",), "2": ("2",), "3": ("1", "2")}
BY_DISCHARGE, BY_GROUPING = "1", "2"


def send_claim(call: Call) -> dict[str, Any]:
    start, stop = period(call)
    jenis_rawat = jenis_rawat_filter(call)
    date_type = call.text("date_type") or BY_DISCHARGE
    if date_type not in (BY_DISCHARGE, BY_GROUPING):
        raise WsError("E2019")
    require_data_centre(call)
    claims = final_claims(call, start, stop, jenis_rawat, by_grouping_date=date_type == BY_GROUPING)
    for claim in claims:
        mark_sent(call, claim, "send_claim")
    return ok(response={"data": [{"SEP": claim.nomor_sep, "tgl_pulang": claim.tgl_pulang,
                                  "kemkes_dc_Status": claim.kemenkes_dc_status_cd,
                                  "bpjs_dc_Status": claim.bpjs_dc_status_cd} for claim in claims]})


def send_claim_individual(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd != FINAL:
        raise WsError("E2018")
    require_data_centre(call)
    mark_sent(call, claim, "send_claim_individual")
    return ok(response={"data": [{"nomor_sep": claim.nomor_sep, "tgl_pulang": claim.tgl_pulang,
                                  "kemkes_dc_status": claim.kemenkes_dc_status_cd,
                                  "bpjs_dc_status": claim.bpjs_dc_status_cd}]})


def require_data_centre(call: Call) -> None:
    require_hospital_setup(call)
    if not call.env.config.hospital_registered:
        raise WsError("E2027")


def mark_sent(call: Call, claim: Claim, method: str) -> None:
    claim.kemenkes_dc_status_cd, claim.kemenkes_dc_sent_at = SENT, call.now
    if call.env.config.bpjs_dc_enabled:
        claim.bpjs_dc_status_cd, claim.bpjs_dc_sent_at = SENT, call.now
    record_event(call.session, claim, method, call.now)


def period(call: Call) -> tuple[date, date]:
    """start_dt..stop_dt (`YYYY-MM-DD`, both days included); missing, malformed or reversed is E2019."""
    start, stop = parse_timestamp(call.text("start_dt")), parse_timestamp(call.text("stop_dt"))
    if start is None or stop is None or stop.date() < start.date():
        raise WsError("E2019")
    return start.date(), stop.date()


def jenis_rawat_filter(call: Call) -> tuple[str, ...]:
    value = call.text("jenis_rawat") or "3"
    if value not in JENIS_RAWAT_FILTER:
        raise WsError("E2028")
    return JENIS_RAWAT_FILTER[value]


def final_claims(call: Call, start: date, stop: date, jenis_rawat: tuple[str, ...], *,
                 by_grouping_date: bool = False) -> list[Claim]:
    """Live final claims of the period, by discharge date (or by grouping date), oldest first."""
    first, last = datetime.combine(start, time.min), datetime.combine(stop, time.max).replace(microsecond=0)
    query = select(Claim).options(selectinload(Claim.patient)).where(
        Claim.deleted_at.is_(None), Claim.klaim_status_cd == FINAL, Claim.jenis_rawat.in_(jenis_rawat))
    if by_grouping_date:
        query = query.where(Claim.grouped_at.between(first, last)).order_by(Claim.grouped_at, Claim.id)
    else:  # stored as YYYY-MM-DD HH:MM:SS, which sorts like the time it names
        query = query.where(Claim.tgl_pulang.between(first.strftime(DATETIME_FORMAT), last.strftime(DATETIME_FORMAT))
                            ).order_by(Claim.tgl_pulang, Claim.id)
    return list(call.session.scalars(query))
