"""The claim methods whose 5.10 behaviour differs from the 2017 build: new_claim, set_claim_data, claim_final,
reedit_claim, get_claim_data. Each checks what 5.10 adds, then does what the 2017 method does (claims.py,
patients.py), so both builds share one implementation of the claim's data.

- set_claim_data carries no coding any more (E2044 with the real text listing the four coding parameters: the
  codings have their own methods, workflow.py); payor_id is mandatory (E2051, since 5.4.11); a class upgrade must
  be one class up (E2032), not from kelas 3 (E2065), with its payor (E2064) and within the stay (E2062); once the
  iDRG coding is final the data it was grouped on are fixed (E2102 "iDRG coding sudah final").
- claim_final needs both codings final (E2103, E2104); a claim sent to the data centre cannot be re-edited (E2039).
- new_claim answers patient_id as a string, as real 5.10 servers do.
"""

from __future__ import annotations

import json
from typing import Any

from fhirclaim.eklaim.emulator import claims, patients
from fhirclaim.eklaim.emulator.answers import WsError
from fhirclaim.eklaim.emulator.calls import Call, one_claim
from fhirclaim.eklaim.emulator.claims import SENT
from fhirclaim.eklaim.emulator.fields import CLAIM_FIELDS, is_unchanged, parse_claim_update
from fhirclaim.eklaim.emulator.models import Claim
from fhirclaim.eklaim.emulator.records import claim_record
from fhirclaim.eklaim.emulator.stay import length_of_stay
from fhirclaim.eklaim.emulator.workflow import (
    coding_of,
    open_claim,
    require_idrg_final,
    require_idrg_open,
    require_inacbg_final,
    response_idrg,
    response_inacbg,
)

CODING_PARAMETERS = ("diagnosa", "procedure", "diagnosa_inagrouper", "procedure_inagrouper")
CODING_REFUSED = "Parameter tidak berlaku: " + ", ".join(CODING_PARAMETERS)
# 5.10 fields kept beside the 2017 columns and shown by get_claim_data (value as sent, stringified)
KEPT_FIELDS = ("cara_masuk", "sistole", "diastole", "upgrade_class_payor", "dializer_single_use", "cob_cd")
UPGRADE_STEPS = {"3": ("kelas_2",), "2": ("kelas_1",), "1": ("vip", "vvip")}
UPGRADE_PAYORS = ("peserta", "pemberi_kerja", "asuransi_tambahan")


def new_claim(call: Call) -> dict[str, Any]:
    answer = patients.new_claim(call)
    answer["response"]["patient_id"] = str(answer["response"]["patient_id"])
    return answer


def set_claim_data(call: Call) -> dict[str, Any]:
    if any(name in call.data for name in CODING_PARAMETERS):
        raise WsError("E2044", message=CODING_REFUSED)
    claim, coding = open_claim(call, call.text("nomor_sep", source=call.metadata) or call.text("nomor_sep"))
    require_idrg_open(coding)
    if not call.text("payor_id").isdigit():
        raise WsError("E2051")
    kept = {**json.loads(coding.fields), **_kept_fields(call)}
    check_upgrade(call, claim, kept.get("upgrade_class_payor", ""))
    before = {name: getattr(claim, name) for name in CLAIM_FIELDS}
    answer = claims.set_claim_data(call)
    coding.fields = json.dumps(kept, sort_keys=True)
    if before != {name: getattr(claim, name) for name in CLAIM_FIELDS}:
        coding.idrg_grouping, coding.idrg_topups = None, ""  # iDRG groups on sex, age, stay and care type too
    return answer


def _kept_fields(call: Call) -> dict[str, str]:
    found = {}
    for name in KEPT_FIELDS:
        value = call.data.get(name)
        if not is_unchanged(value) and not isinstance(value, (dict, list, bool)):
            found[name] = str(value).strip()
    return found


def check_upgrade(call: Call, claim: Claim, payor: str) -> None:
    """A class upgrade of the data after this update: one class up, not from kelas 3, paid by a known payor,
    for no more days than the stay."""
    values = {**{name: getattr(claim, name) for name in CLAIM_FIELDS}, **parse_claim_update(call.data, call.env.codes)}
    if values["upgrade_class_ind"] != "1":
        return
    if values["kelas_rawat"] == "3":
        raise WsError("E2065")
    if values["upgrade_class_class"] not in UPGRADE_STEPS.get(values["kelas_rawat"], ()):
        raise WsError("E2032")
    if payor not in UPGRADE_PAYORS:
        raise WsError("E2064")
    stay = length_of_stay(values["tgl_masuk"], values["tgl_pulang"])
    if stay is not None and int(values["upgrade_class_los"] or 0) > stay:
        raise WsError("E2062")


def claim_final(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd != claims.FINAL:
        coding = coding_of(call, claim)
        require_idrg_final(coding)
        require_inacbg_final(coding)
    return claims.claim_final(call)


def reedit_claim(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    if claim.klaim_status_cd == claims.FINAL and claim.kemenkes_dc_status_cd == SENT:
        raise WsError("E2039")
    return claims.reedit_claim(call)


def get_claim_data(call: Call) -> dict[str, Any]:
    answer = claims.get_claim_data(call)
    claim = one_claim(call, call.text("nomor_sep"))
    answer["response"]["data"] = claim_record_510(claim_record(claim, call), claim, call)
    return answer


def claim_record_510(record: dict[str, Any], claim: Claim, call: Call) -> dict[str, Any]:
    """The 2017 record with 5.10's keys, in the order real answers show them; `diagnosa` / `procedure` are the
    INA-CBG coding and `*_inagrouper` the iDRG one (the INA Grouper's)."""
    coding = coding_of(call, claim)
    kept = json.loads(coding.fields)
    inserted = {
        "tgl_pulang": {"cara_masuk": kept.get("cara_masuk", "")},
        "procedure": {"diagnosa_inagrouper": coding.idrg_diagnosa, "procedure_inagrouper": coding.idrg_procedure},
        "tarif_rs": {"sistole": kept.get("sistole", ""), "diastole": kept.get("diastole", "")},
        "add_payment_amt": {"upgrade_class_payor": kept.get("upgrade_class_payor")},
        "tarif_poli_eks": {"dializer_single_use": kept.get("dializer_single_use", "0")},
    }
    shaped: dict[str, Any] = {}
    for key, value in record.items():
        shaped[key] = value
        shaped.update(inserted.get(key, {}))
    shaped["diagnosa"], shaped["procedure"] = coding.inacbg_diagnosa, coding.inacbg_procedure
    groupings = {"response_inacbg": response_inacbg(claim, coding), "response_idrg": response_idrg(coding)}
    shaped["grouper"] = {key: value for key, value in groupings.items() if value is not None}
    return shaped
