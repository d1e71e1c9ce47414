"""E-Klaim 5.10's coding workflow: iDRG coding → iDRG grouping → iDRG final → import to INA-CBG (or INA-CBG coding
set by hand) → INA-CBG grouping stage 1 (→ 2) → INA-CBG final → claim_final.

Each step refuses what real 5.10 servers refuse (messages as they send them; E2101-E2105 are not in the manual's
table, the error csv of tests/fixtures/eklaim records where they were seen):

- a coding or grouping of the iDRG side after its final: E2102 "iDRG coding sudah final"; of the INA-CBG side
  after its final: E2102 "INACBG coding sudah final"; anything but reading once the claim is final: E2009;
- the INA-CBG side, import and iDRG re-edit before the iDRG final: E2103 "iDRG coding belum final";
- INA-CBG re-edit and claim_final before the INA-CBG final: E2104 "INACBG coding belum final";
- a final with no grouping of the coding as it is: E2017; an iDRG final on MDC 36: E2105; an INA-CBG final on an
  error group (X-…): E2016;
- iDRG grouping of a TB diagnosis (A15-A19) without a validated SITB register: E2063 with the SITB text (what a
  real 5.10.x server answered, although the manual lists that text under E2066).

Any change of a coding drops that coding's grouping (and an iDRG change the INA-CBG one too), so a final always
rests on a grouping of the codes as they are.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, one_claim, require_hospital_setup
from fhirclaim.eklaim.emulator.claims import FINAL
from fhirclaim.eklaim.emulator.coding import (
    DIAGNOSIS,
    PROCEDURE,
    Codes,
    expanded,
    groupable,
    imported,
    items_of,
    joined,
    parse_coding,
)
from fhirclaim.eklaim.emulator.fields import parse_timestamp
from fhirclaim.eklaim.emulator.grouping import chosen_special_cmg, grouper_input, run_grouper
from fhirclaim.eklaim.emulator.models import Claim, Coding
from fhirclaim.eklaim.emulator.records import grouping_of
from fhirclaim.eklaim.emulator.stay import age_at
from fhirclaim.eklaim.emulator.store import record_event
from fhirclaim.inacbg.idrg import UNGROUPABLE_MDC, IdrgEpisode

IDRG_FINAL = "iDRG coding sudah final"
INACBG_FINAL = "INACBG coding sudah final"
TB_WITHOUT_SITB = "Error: Pasien dengan TB belum ada validasi SITB."
TB_CODES = ("A15", "A16", "A17", "A18", "A19")
TOPUP_SEPARATOR = "#"
INACBG_VERSION = "5.10.5.202510071053"  # the 5.10 form real answers carry (build.date); the grouper is ours


# --- state and ordering -------------------------------------------------------------------------------------


def coding_of(call: Call, claim: Claim) -> Coding:
    """The claim's 5.10 state, made on first use."""
    if claim.coding is None:
        claim.coding = Coding(claim=claim)
        call.session.add(claim.coding)
        call.session.flush()  # the column defaults ("" codings, not final, "{}" fields) are set from here on
    return claim.coding


def open_claim(call: Call, nomor_sep: str) -> tuple[Claim, Coding]:
    """The claim (E2004/E2003) and its coding, refusing changes to a final claim (E2009)."""
    claim = one_claim(call, nomor_sep)
    if claim.klaim_status_cd == FINAL:
        raise WsError("E2009")
    return claim, coding_of(call, claim)


def require_idrg_open(coding: Coding) -> None:
    if coding.idrg_final:
        raise WsError("E2102", message=IDRG_FINAL)


def require_idrg_final(coding: Coding) -> None:
    if not coding.idrg_final:
        raise WsError("E2103")


def require_inacbg_open(coding: Coding) -> None:
    if coding.inacbg_final:
        raise WsError("E2102", message=INACBG_FINAL)


def require_inacbg_final(coding: Coding) -> None:
    if not coding.inacbg_final:
        raise WsError("E2104")


def sep_in_metadata(call: Call) -> str:
    return call.text("nomor_sep", source=call.metadata)


# --- iDRG coding --------------------------------------------------------------------------------------------


def idrg_diagnosa_set(call: Call) -> dict[str, Any]:
    return _idrg_set(call, DIAGNOSIS, "idrg_diagnosa_set")


def idrg_procedure_set(call: Call) -> dict[str, Any]:
    return _idrg_set(call, PROCEDURE, "idrg_procedure_set")


def _idrg_set(call: Call, kind: str, method: str) -> dict[str, Any]:
    claim, coding = open_claim(call, sep_in_metadata(call))
    require_idrg_open(coding)
    codes = Codes(call.env.codes)
    items = parse_coding(call.data.get(kind), kind, lambda code: codes.idrg(kind, code),
                         multiplicity=kind == PROCEDURE)
    if items is not None and joined(items) != getattr(coding, f"idrg_{kind}"):
        setattr(coding, f"idrg_{kind}", joined(items))
        _drop_idrg_grouping(claim, coding)
        record_event(call.session, claim, method, call.now)
    return _coding_answer(method, getattr(coding, f"idrg_{kind}"), kind, codes, inacbg=False,
                          multiplicity_key="multiplicity" if kind == PROCEDURE else None)


def idrg_diagnosa_get(call: Call) -> dict[str, Any]:
    coding = coding_of(call, one_claim(call, call.text("nomor_sep")))
    return _coding_answer("idrg_diagnosa_get", coding.idrg_diagnosa, DIAGNOSIS, Codes(call.env.codes), inacbg=False)


def idrg_procedure_get(call: Call) -> dict[str, Any]:
    """As real servers answer it: the multiplicity is `multiply` here (the set answer says `multiplicity`)."""
    coding = coding_of(call, one_claim(call, call.text("nomor_sep")))
    return _coding_answer("idrg_procedure_get", coding.idrg_procedure, PROCEDURE, Codes(call.env.codes),
                          inacbg=False, multiplicity_key="multiply")


def _coding_answer(method: str, stored: str, kind: str, codes: Codes, *, inacbg: bool,
                   multiplicity_key: str | None = None) -> dict[str, Any]:
    answer = ok(data=_coding_data(stored, kind, codes, inacbg=inacbg, multiplicity_key=multiplicity_key))
    answer["metadata"]["method"] = method
    return answer


def _coding_data(stored: str, kind: str, codes: Codes, *, inacbg: bool, multiplicity_key: str | None = None,
                 positions: list[int] | None = None) -> dict[str, Any]:
    return {"string": stored, "expanded": expanded(items_of(stored), kind, codes, inacbg=inacbg,
                                                   multiplicity_key=multiplicity_key, positions=positions)}


def _drop_idrg_grouping(claim: Claim, coding: Coding) -> None:
    coding.idrg_grouping, coding.idrg_topups = None, ""
    claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""


# --- iDRG grouping, final, re-edit, import ------------------------------------------------------------------


def group_idrg(call: Call, claim: Claim, coding: Coding, stage: int) -> dict[str, Any]:
    """The grouper method with metadata.grouper "idrg"."""
    require_idrg_open(coding)
    diagnoses = [item.code for item in items_of(coding.idrg_diagnosa)]
    if any(code.startswith(TB_CODES) for code in diagnoses) and not coding.sitb_register:
        raise WsError("E2063", message=TB_WITHOUT_SITB)
    topups: list[str] = []
    if stage == 2:
        if coding.idrg_grouping is None:
            raise WsError("E2017")
        topups = [code.strip() for code in call.text("topup_codes").split(TOPUP_SEPARATOR) if code.strip()]
    result = call.env.idrg.group(idrg_episode(claim, coding, topups, call.now))
    coding.idrg_grouping = json.dumps(result)
    coding.idrg_topups = TOPUP_SEPARATOR.join(topups)
    claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""
    _count_grouping(call, claim, "grouper")
    return ok(response_idrg=response_idrg(coding))


def idrg_episode(claim: Claim, coding: Coding, topups: list[str], now: datetime) -> IdrgEpisode:
    admitted = _admitted(claim) or now
    age = age_at(claim.patient.tgl_lahir, admitted)
    return IdrgEpisode(diagnoses=tuple(item.code for item in items_of(coding.idrg_diagnosa)),
                       procedures=tuple((item.code, item.multiplicity) for item in items_of(coding.idrg_procedure)),
                       gender=claim.patient.gender, age_days=age[1] if age else None,
                       inpatient=claim.jenis_rawat != "2", ventilator_hours=int(claim.ventilator_hour or 0),
                       topups=tuple(topups))


def _admitted(claim: Claim) -> datetime | None:
    return parse_timestamp(claim.tgl_masuk)


def response_idrg(coding: Coding) -> dict[str, Any] | None:
    """The stored iDRG grouping with its status_cd (`final` once finalised), None when not grouped."""
    if coding.idrg_grouping is None:
        return None
    return {**json.loads(coding.idrg_grouping), "status_cd": "final" if coding.idrg_final else "normal"}


def idrg_grouper_final(call: Call) -> dict[str, Any]:
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_idrg_open(coding)
    if coding.idrg_grouping is None:
        raise WsError("E2017")
    if json.loads(coding.idrg_grouping).get("mdc_number") == UNGROUPABLE_MDC:
        raise WsError("E2105")
    coding.idrg_final = True
    record_event(call.session, claim, "idrg_grouper_final", call.now)
    return ok()


def idrg_grouper_reedit(call: Call) -> dict[str, Any]:
    """Reopen the iDRG coding; the INA-CBG side must be open (its grouping is dropped: it rests on the import)."""
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_idrg_final(coding)
    require_inacbg_open(coding)
    coding.idrg_final = False
    claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""
    record_event(call.session, claim, "idrg_grouper_reedit", call.now)
    return ok()


def idrg_to_inacbg_import(call: Call) -> dict[str, Any]:
    """Copy the final iDRG coding to the INA-CBG one: no multiplicity, each code once, IM codes flagged E2101."""
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_idrg_final(coding)
    require_inacbg_open(coding)
    codes = Codes(call.env.codes)
    data = {}
    for kind in (DIAGNOSIS, PROCEDURE):
        items, positions = imported(items_of(getattr(coding, f"idrg_{kind}")), kind, codes)
        _set_inacbg(claim, coding, kind, joined(items), codes)
        data[kind] = _coding_data(joined(items), kind, codes, inacbg=True, positions=positions)
    claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""
    record_event(call.session, claim, "idrg_to_inacbg_import", call.now)
    answer = ok(data=data)
    answer["metadata"]["method"] = "idrg_to_inacbg_import"
    return answer


# --- INA-CBG coding, grouping, final, re-edit ---------------------------------------------------------------


def inacbg_diagnosa_set(call: Call) -> dict[str, Any]:
    return _inacbg_set(call, DIAGNOSIS, "inacbg_diagnosa_set")


def inacbg_procedure_set(call: Call) -> dict[str, Any]:
    return _inacbg_set(call, PROCEDURE, "inacbg_procedure_set")


def _inacbg_set(call: Call, kind: str, method: str) -> dict[str, Any]:
    claim, coding = open_claim(call, sep_in_metadata(call))
    require_idrg_final(coding)
    require_inacbg_open(coding)
    codes = Codes(call.env.codes)
    items = parse_coding(call.data.get(kind), kind, lambda code: codes.inacbg(kind, code), multiplicity=False)
    if items is not None and joined(items) != getattr(coding, f"inacbg_{kind}"):
        _set_inacbg(claim, coding, kind, joined(items), codes)
        claim.grouping, claim.grouping_stage, claim.special_cmg = None, 0, ""
        record_event(call.session, claim, method, call.now)
    return _coding_answer(method, getattr(coding, f"inacbg_{kind}"), kind, codes, inacbg=True)


def _set_inacbg(claim: Claim, coding: Coding, kind: str, stored: str, codes: Codes) -> None:
    """The INA-CBG coding as shown, and the codes of it the INA-CBG grouper takes (the 2017 columns)."""
    setattr(coding, f"inacbg_{kind}", stored)
    setattr(claim, kind, groupable(items_of(stored), kind, codes))


def inacbg_diagnosa_get(call: Call) -> dict[str, Any]:
    coding = coding_of(call, one_claim(call, call.text("nomor_sep")))
    return _coding_answer("inacbg_diagnosa_get", coding.inacbg_diagnosa, DIAGNOSIS, Codes(call.env.codes),
                          inacbg=True)


def inacbg_procedure_get(call: Call) -> dict[str, Any]:
    coding = coding_of(call, one_claim(call, call.text("nomor_sep")))
    return _coding_answer("inacbg_procedure_get", coding.inacbg_procedure, PROCEDURE, Codes(call.env.codes),
                          inacbg=True)


def group_inacbg(call: Call, claim: Claim, coding: Coding, stage: int) -> dict[str, Any]:
    """The grouper method with metadata.grouper "inacbg": the INA-CBG grouper on the INA-CBG coding."""
    require_idrg_final(coding)
    require_inacbg_open(coding)
    chosen: list[str] = []
    if stage == 2:
        if not claim.grouping:
            raise WsError("E2017")
        chosen = chosen_special_cmg(call.text("special_cmg"), grouping_of(claim))
    result = run_grouper(call.env, grouper_input(claim), chosen)
    claim.grouping, claim.grouping_stage = json.dumps(result), stage
    claim.special_cmg = "#".join(chosen)
    _count_grouping(call, claim, "grouper")
    answer = ok(response_inacbg=response_inacbg(claim, coding))
    if result.get("special_cmg_option"):
        answer["special_cmg_option"] = result["special_cmg_option"]
    return answer


def response_inacbg(claim: Claim, coding: Coding) -> dict[str, Any] | None:
    """The stored INA-CBG grouping (the INA-CBG grouper's 2017-shaped answer) in 5.10's shape: cbg without its
    tariff, base_tariff and tariff (base + top-ups) as strings, an error group without tariffs; status_cd."""
    if not claim.grouping:
        return None
    response = grouping_of(claim).get("response") or {}
    cbg = response.get("cbg") or {}
    answer: dict[str, Any] = {"cbg": {"code": cbg.get("code", ""), "description": cbg.get("description", "")}}
    if not str(cbg.get("code", "X")).startswith("X"):
        extras = [response.get(key) or {} for key in ("sub_acute", "chronic")] + list(response.get("special_cmg") or [])
        base = int(cbg.get("tariff") or 0)
        answer["base_tariff"] = str(base)
        answer["tariff"] = str(base + sum(int(extra.get("tariff") or 0) for extra in extras))
        answer.update({key: response[key] for key in ("sub_acute", "chronic", "special_cmg") if key in response})
    answer["kelas"] = response.get("kelas", "")
    answer["inacbg_version"] = INACBG_VERSION
    answer["status_cd"] = "final" if coding.inacbg_final else "normal"
    return answer


def inacbg_grouper_final(call: Call) -> dict[str, Any]:
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_idrg_final(coding)
    require_inacbg_open(coding)
    if not claim.grouping:
        raise WsError("E2017")
    code = (grouping_of(claim).get("response") or {}).get("cbg", {}).get("code", "")
    if not code or code.startswith("X"):
        raise WsError("E2016")
    coding.inacbg_final = True
    record_event(call.session, claim, "inacbg_grouper_final", call.now)
    return ok()


def inacbg_grouper_reedit(call: Call) -> dict[str, Any]:
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_inacbg_final(coding)
    coding.inacbg_final = False
    record_event(call.session, claim, "inacbg_grouper_reedit", call.now)
    return ok()


# --- the grouper method -------------------------------------------------------------------------------------

GROUPERS = {"idrg": group_idrg, "inacbg": group_inacbg}


def grouper(call: Call) -> dict[str, Any]:
    """`metadata.grouper` idrg | inacbg and `metadata.stage` 1 | 2 (number or string, as the manual sends them)."""
    kind, stage = call.text("grouper", source=call.metadata), call.text("stage", source=call.metadata)
    if not kind or not stage:
        raise WsError("E2030")
    if kind not in GROUPERS:
        raise WsError("E2044", message="Parameter tidak berlaku: grouper")
    if stage not in ("1", "2"):
        raise WsError("E2044", message="Parameter tidak berlaku: stage")
    claim, coding = open_claim(call, call.text("nomor_sep"))
    require_hospital_setup(call)
    if not claim.kode_tarif:
        raise WsError("E2014")
    return GROUPERS[kind](call, claim, coding, int(stage))


def _count_grouping(call: Call, claim: Claim, method: str) -> None:
    claim.grouping_count += 1
    claim.grouped_at = call.now
    record_event(call.session, claim, method, call.now)
