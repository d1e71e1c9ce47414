"""What each E-Klaim build answers: its methods, and (5.10) the `data` parameters each method takes.

5.1 is the 2017 build: one coding set by set_claim_data, one grouper, pull_claim. 5.10 is today's (iDRG era) build
as its manual (Build 5.10.x, 2025) and real servers' answers show it: two codings with their own methods
(workflow.py), the claim methods of claims510.py, the look-ups of lookup.py; pull_claim is gone ("Drop method
pull_claim (deprecated)"), so it is E2001 "Method tidak ada" like any unknown method.

A 5.10 `data` parameter the method does not take is refused, never silently dropped: E2044 "Parameter tidak
berlaku: <names>", the error and wording real 5.10 servers use for the coding parameters set_claim_data no longer
takes (the manual's table gives E2044 an upload text; real answers win).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fhirclaim.eklaim.emulator import (
    claims,
    claims510,
    datacentre,
    export,
    grouping,
    lookup,
    patients,
    printing,
    workflow,
)
from fhirclaim.eklaim.emulator.answers import WsError
from fhirclaim.eklaim.emulator.calls import Call
from fhirclaim.eklaim.emulator.data_tables import parameters_510

Handler = Callable[[Call], dict[str, Any]]

METHODS_51: dict[str, Handler] = {
    "new_claim": patients.new_claim,
    "update_patient": patients.update_patient,
    "delete_patient": patients.delete_patient,
    "set_claim_data": claims.set_claim_data,
    "grouper": grouping.grouper,
    "claim_final": claims.claim_final,
    "reedit_claim": claims.reedit_claim,
    "send_claim": datacentre.send_claim,
    "send_claim_individual": datacentre.send_claim_individual,
    "pull_claim": export.pull_claim,
    "get_claim_data": claims.get_claim_data,
    "get_claim_status": claims.get_claim_status,
    "delete_claim": claims.delete_claim,
    "claim_print": printing.claim_print,
}

METHODS_510: dict[str, Handler] = {
    "new_claim": claims510.new_claim,
    "update_patient": patients.update_patient,
    "delete_patient": patients.delete_patient,
    "set_claim_data": claims510.set_claim_data,
    "idrg_diagnosa_set": workflow.idrg_diagnosa_set,
    "idrg_diagnosa_get": workflow.idrg_diagnosa_get,
    "idrg_procedure_set": workflow.idrg_procedure_set,
    "idrg_procedure_get": workflow.idrg_procedure_get,
    "grouper": workflow.grouper,
    "idrg_grouper_final": workflow.idrg_grouper_final,
    "idrg_grouper_reedit": workflow.idrg_grouper_reedit,
    "idrg_to_inacbg_import": workflow.idrg_to_inacbg_import,
    "inacbg_diagnosa_set": workflow.inacbg_diagnosa_set,
    "inacbg_diagnosa_get": workflow.inacbg_diagnosa_get,
    "inacbg_procedure_set": workflow.inacbg_procedure_set,
    "inacbg_procedure_get": workflow.inacbg_procedure_get,
    "inacbg_grouper_final": workflow.inacbg_grouper_final,
    "inacbg_grouper_reedit": workflow.inacbg_grouper_reedit,
    "claim_final": claims510.claim_final,
    "reedit_claim": claims510.reedit_claim,
    "send_claim": datacentre.send_claim,
    "send_claim_individual": datacentre.send_claim_individual,
    "get_claim_data": claims510.get_claim_data,
    "get_claim_status": claims.get_claim_status,
    "delete_claim": claims.delete_claim,
    "claim_print": printing.claim_print,
    "search_diagnosis": lookup.search_diagnosis,
    "search_procedures": lookup.search_procedures,
    "search_diagnosis_inagrouper": lookup.search_diagnosis_inagrouper,
    "search_procedures_inagrouper": lookup.search_procedures_inagrouper,
    "sitb_validate": lookup.sitb_validate,
    "sitb_invalidate": lookup.sitb_invalidate,
    "generate_claim_number": lookup.generate_claim_number,
}

METHODS: Mapping[str, Mapping[str, Handler]] = {"5.1": METHODS_51, "5.10": METHODS_510}

def check_parameters(method: str, data: Mapping[str, Any]) -> None:
    """E2044 naming every `data` parameter (and tarif_rs part) the 5.10 method does not take
    (data/parameters_510.csv; a method without rows takes none)."""
    allowed = parameters_510().get(method, frozenset())
    unknown = [name for name in data if name not in allowed]
    tarif_rs = data.get("tarif_rs")
    if isinstance(tarif_rs, Mapping) and "tarif_rs" in allowed:
        unknown += [f"tarif_rs.{name}" for name in tarif_rs if f"tarif_rs.{name}" not in allowed]
    if unknown:
        raise WsError("E2044", message="Parameter tidak berlaku: " + ", ".join(unknown))
