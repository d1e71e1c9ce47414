"""The 5.10 methods that look things up rather than change a claim's coding: code search (INA-CBG and iDRG),
SITB register validation, and generate_claim_number.

- search_diagnosis / search_procedures answer `[description, code]` pairs; the *_inagrouper forms answer objects
  with `validcode` and `im` (IM codes included), as the manual's examples do. A keyword matches a code's start
  (dots ignored) or a word of its description; at most SEARCH_LIMIT results.
- sitb_validate: the emulator's SITB knows every register number of 8 digits (the manual's example is
  "00000001"); the patient of the claim is the registered person. sitb_invalidate forgets the validation.
- generate_claim_number: kode RS (7 digits) + "ICC" + yymm + a 4-digit counter per month, as the manual's example
  "0000000ICC25100002" reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, one_claim
from fhirclaim.eklaim.emulator.models import ClaimNumber
from fhirclaim.eklaim.emulator.workflow import coding_of
from fhirclaim.inacbg.idrg import im_codes
from fhirclaim.terminology import icd9cm, icd10

SEARCH_LIMIT = 50
SITB_REGISTER_DIGITS = 8
_SYSTEMS = {"diagnosis": ("icd10", "icd10im"), "procedures": ("icd9cm", "icd9cmim")}


def _keyword(call: Call) -> str:
    keyword = call.text("keyword")
    if not keyword:
        raise WsError("E2030")
    return keyword


def _catalogue(kind: str) -> list[tuple[str, str]]:
    """(code, description) of the ICD edition INA-CBG uses."""
    module = icd10 if kind == "diagnosis" else icd9cm
    return [(code, module.description(code) or "") for code in module.all_codes()]


def _matches(entries: Iterable[tuple[str, str]], keyword: str) -> list[tuple[str, str]]:
    bare = keyword.replace(".", "").upper()
    lowered = keyword.lower()
    found = [(code, text) for code, text in entries
             if code.replace(".", "").upper().startswith(bare) or lowered in text.lower()]
    return found[:SEARCH_LIMIT]


def _inacbg_search(call: Call, kind: str) -> dict[str, Any]:
    found = _matches(_catalogue(kind), _keyword(call))
    return ok(response={"count": len(found), "data": [[text, code] for code, text in found]})


def search_diagnosis(call: Call) -> dict[str, Any]:
    return _inacbg_search(call, "diagnosis")


def search_procedures(call: Call) -> dict[str, Any]:
    return _inacbg_search(call, "procedures")


def _idrg_search(call: Call, kind: str) -> dict[str, Any]:
    im_system = _SYSTEMS[kind][1]
    im = [(code, text) for (system, code), text in im_codes().items() if system == im_system]
    found = _matches([*_catalogue(kind), *im], _keyword(call))
    im_set = {code for code, _ in im}
    data = [{"description": text, "code": code, "validcode": "1", "im": "1" if code in im_set else "0"}
            for code, text in found]
    return ok(response={"count": len(data), "data": data})


def search_diagnosis_inagrouper(call: Call) -> dict[str, Any]:
    return _idrg_search(call, "diagnosis")


def search_procedures_inagrouper(call: Call) -> dict[str, Any]:
    return _idrg_search(call, "procedures")


def sitb_validate(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    register = call.text("nomor_register_sitb")
    if not register:
        raise WsError("E2030")
    if not (register.isdigit() and len(register) == SITB_REGISTER_DIGITS):
        return ok(response={"status": "INVALID", "detail": "Nomor register tidak ditemukan"})
    coding_of(call, claim).sitb_register = register
    person = {"id": register, "nama": claim.patient.nama_pasien, "nik": claim.patient.nomor_kartu,
              "jenis_kelamin_id": claim.patient.gender}
    return ok(response={"status": "VALID", "detail": "Nomor register valid (dan masuk dalam data klaim)"},
              validation={"data": [person], "success": True})


def sitb_invalidate(call: Call) -> dict[str, Any]:
    claim = one_claim(call, call.text("nomor_sep"))
    coding_of(call, claim).sitb_register = ""
    return ok()


def generate_claim_number(call: Call) -> dict[str, Any]:
    prefix = f"{call.env.config.kode_rs:0>7}ICC{call.now:%y%m}"
    issued = call.session.scalar(select(func.count()).select_from(ClaimNumber)
                                 .where(ClaimNumber.number.startswith(prefix))) or 0
    number = f"{prefix}{issued + 1:04d}"
    call.session.add(ClaimNumber(number=number, at=call.now))
    return ok(response={"claim_number": number})
