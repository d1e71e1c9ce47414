"""set_claim_data, claim_final, reedit_claim, delete_claim, get_claim_data, get_claim_status.

The claim's life: `normal` (editable; set_claim_data and grouper) → claim_final → `final` (read-only: E2009) →
reedit_claim → `normal` again. A claim already sent to the data centre can be re-edited too (E-Klaim's screen
keeps "Edit Ulang Klaim" after "Terkirim", seed 002): it then counts as not sent until it is sent again. Changing
claim data drops
the grouping result, so that a final always rests on a grouping of the data as they are (E2017 otherwise).
"""

from __future__ import annotations

import json
from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, one_claim, require_coder, require_hospital_setup
from fhirclaim.eklaim.emulator.data_tables import tariff_classes
from fhirclaim.eklaim.emulator.fields import parse_claim_update, parse_timestamp
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.records import claim_record
from fhirclaim.eklaim.emulator.stay import length_of_stay
from fhirclaim.eklaim.emulator.store import live_claims_by_sep, record_event

FINAL, NORMAL, SENT, UNSENT = "final", "normal", "sent", "unsent"


def set_claim_data(call: Call) -> dict[str, Any]:
    """Partial update of the claim named by metadata.nomor_sep (data.nomor_sep, if different, renames it)."""
    claim = one_claim(call, call.text("nomor_sep", source=call.metadata) or call.text("nomor_sep"))
    if claim.klaim_status_cd == FINAL:
        raise WsError("E2009")
    coder = require_coder(call)
    changes = parse_claim_update(call.data, call.env.codes)
    if "kode_tarif" in changes:
        check_kode_tarif(call, changes["kode_tarif"])
    new_sep = call.text("nomor_sep")
    if new_sep and new_sep != claim.nomor_sep:
        if live_claims_by_sep(call.session, new_sep):
            raise WsError("E2010")
        changes["nomor_sep"] = new_sep
    check_stay({**_fields(claim, ("tgl_masuk", "tgl_pulang", "icu_los")), **changes})
    changed = {name: value for name, value in changes.items() if getattr(claim, name) != value}
    for name, value in changed.items():
        setattr(claim, name, value)
    if changed:
        claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""
    claim.coder_nik = coder.nik
    claim.updated_at = call.now
    record_event(call.session, claim, "set_claim_data", call.now, coder.nik)
    return ok()


def check_kode_tarif(call: Call, kode_tarif: str) -> None:
    """A tariff class of the manual's list, and the hospital's own when the hospital is set up with one."""
    configured = call.env.config.kode_tarif
    if kode_tarif not in tariff_classes() or (configured and kode_tarif != configured):
        raise WsError("E2014")


def check_stay(values: dict[str, Any]) -> None:
    """Discharge not before admission (E2012); intensive-care days within the stay (E2013)."""
    admitted, discharged = parse_timestamp(values["tgl_masuk"]), parse_timestamp(values["tgl_pulang"])
    if admitted is None or discharged is None:
        return
    if discharged < admitted:
        raise WsError("E2012")
    stay = length_of_stay(values["tgl_masuk"], values["tgl_pulang"]) or 0
    if int(values.get("icu_los") or 0) > stay:
        raise WsError("E2013")


def claim_final(call: Call) -> dict[str, Any]:
    """Finalise: needs a grouping of the current data (E2017) whose CBG is not an error group (E2016)."""
    claim = one_claim(call, call.text("nomor_sep"))
    coder = require_coder(call)
    if claim.klaim_status_cd == FINAL:
        raise WsError("E2009")
    require_hospital_setup(call)
    if not claim.grouping:
        raise WsError("E2017")
    cbg_code = (json.loads(claim.grouping).get("response") or {}).get("cbg", {}).get("code", "")
    if not cbg_code or cbg_code.startswith("X"):
        raise WsError("E2016")
    claim.klaim_status_cd, claim.final_at, claim.updated_at = FINAL, call.now, call.now
    record_event(call.session, claim, "claim_final", call.now, coder.nik)
    return ok()


def reedit_claim(call: Call) -> dict[str, Any]:
    """Reopen a final claim (E2002 if it is not final); a sent claim must be sent again afterwards."""
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd != FINAL:
        raise WsError("E2002")
    claim.klaim_status_cd, claim.final_at, claim.updated_at = NORMAL, None, call.now
    if claim.kemenkes_dc_status_cd == SENT:
        claim.kemenkes_dc_status_cd = UNSENT
    record_event(call.session, claim, "reedit_claim", call.now)
    return ok()


def delete_claim(call: Call) -> dict[str, Any]:
    """Delete a claim that is not final (a final one must be re-edited first: E2009)."""
    claim = one_claim(call, call.text("nomor_sep"))
    coder = require_coder(call)
    if claim.klaim_status_cd == FINAL:
        raise WsError("E2009")
    claim.deleted_at = claim.updated_at = call.now
    record_event(call.session, claim, "delete_claim", call.now, coder.nik)
    return ok()


def get_claim_data(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    return ok(response={"data": claim_record(claim, call)})


def get_claim_status(call: Call) -> dict[str, Any]:
    """What BPJS (simulated) says about the SEP; no answer from BPJS is E2020."""
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.bpjs_klaim_status_cd is None:
        raise WsError("E2020")
    return ok(response={"kdStatusSep": claim.bpjs_klaim_status_cd, "nmStatusSep": claim.bpjs_klaim_status_nm})


def _fields(claim: Claim, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(claim, name) for name in names}
