"""The grouper method: stage 1, and stage 2 with the special CMGs chosen among stage 1's options.

The INA-CBG grouper itself is a separate component (fhirclaim.inacbg); this module hands it the stored claim and
keeps its answer. Grouping problems are not web-service errors: like real E-Klaim, the answer is OK and carries an
error group (X-0-94-X data incomplete, X-0-95-X/X-0-96-X invalid codes, ...). If the grouper breaks, the answer is
X-0-99-X "FAILED: EMPTY RESPONSE", as the 2016-05-02 changelog describes for a crashed grouper.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, Environment, one_claim, require_hospital_setup
from fhirclaim.eklaim.emulator.claims import FINAL
from fhirclaim.eklaim.emulator.fields import CLAIM_FIELDS
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.records import grouping_of
from fhirclaim.eklaim.emulator.store import record_event

log = logging.getLogger(__name__)

GROUPER_FAILED = {"code": "X-0-99-X", "description": "FAILED: EMPTY RESPONSE", "tariff": 0}
SPECIAL_CMG_SEPARATOR = "#"


def grouper(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd == FINAL:
        raise WsError("E2009")
    require_hospital_setup(call)
    if not claim.kode_tarif:
        raise WsError("E2014")
    stage = 2 if call.text("stage", source=call.metadata) == "2" else 1
    chosen: list[str] = []
    if stage == 2:
        if not claim.grouping:  # stage 2 chooses among the options of a stage-1 grouping of the same data
            raise WsError("E2017")
        chosen = chosen_special_cmg(call.text("special_cmg"), grouping_of(claim))
    result = run_grouper(call.env, grouper_input(claim), chosen)
    claim.grouping = json.dumps(result)
    claim.grouping_stage = stage
    claim.special_cmg = SPECIAL_CMG_SEPARATOR.join(chosen)
    claim.grouping_count += 1
    claim.grouped_at = call.now
    record_event(call.session, claim, "grouper", call.now)
    return ok(**result)


def chosen_special_cmg(requested: str, stage_one: Mapping[str, Any]) -> list[str]:
    """The requested codes that stage 1 offered, in the requested order; others are ignored."""
    offered = {option.get("code") for option in stage_one.get("special_cmg_option") or ()}
    chosen: list[str] = []
    for code in (part.strip() for part in requested.split(SPECIAL_CMG_SEPARATOR)):
        if code in offered and code not in chosen:
            chosen.append(code)
        elif code:
            log.info("special_cmg %r was not offered: ignored", code)
    return chosen


def grouper_input(claim: Claim) -> dict[str, str]:
    """The stored set_claim_data fields with E-Klaim names and string values, plus the patient's birth and sex."""
    values = {name: getattr(claim, name) for name in CLAIM_FIELDS}
    values["nomor_sep"] = claim.nomor_sep
    values["tgl_lahir"] = claim.patient.tgl_lahir
    values["gender"] = claim.patient.gender
    return values


def run_grouper(env: Environment, claim: Mapping[str, str], special_cmg: Sequence[str]) -> dict[str, Any]:
    """The grouper's answer without metadata; X-0-99-X if it raises or answers without a CBG."""
    try:
        result = env.grouper.group(claim, tuple(special_cmg))
        cbg = result["response"]["cbg"]
        if not isinstance(cbg, Mapping) or not cbg.get("code"):
            raise ValueError("no cbg code")
    except Exception:  # a crashed grouper must not crash the web service, exactly as in E-Klaim
        log.exception("INA-CBG grouper failed")
        return {"response": {"cbg": dict(GROUPER_FAILED), "kelas": _kelas(claim), "add_payment_amt": 0,
                             "inacbg_version": getattr(env.grouper, "version", "")}}
    return {key: value for key, value in result.items() if key != "metadata"}


def _kelas(claim: Mapping[str, str]) -> str:
    return f"kelas_{claim['kelas_rawat']}" if claim.get("kelas_rawat") else ""
