"""E-Klaim web service (ws.php): protocol crypto, client, error codes; emulator/ is the sandbox server.

Usage (the claim pipeline's view)::

    from fhirclaim.eklaim import (ClaimDataUpdate, EKlaimClient, EKlaimError, EKlaimTransportError,
                                  HttpTransport, InProcessTransport, NewClaim)

    client = EKlaimClient(HttpTransport("http://10.0.0.5/E-Klaim/ws.php", timeout=30), key_hex)
    # or, against the embedded emulator without a socket:
    #   client = EKlaimClient(InProcessTransport(emulator_app), key_hex)

    try:
        client.new_claim(NewClaim(nomor_sep=sep, nomor_rm="123-45-67", nama_pasien="NAMA PASIEN",
                                  tgl_lahir=date(1940, 1, 1), gender=2, nomor_kartu="0000668870001"))
    except EKlaimError as error:
        if error.error_no not in ("E2007", "E2003"):   # duplicate SEP: error.duplicate lists the holders
            raise
    client.set_claim_data(sep, ClaimDataUpdate(coder_nik="123123123123", tgl_masuk=admitted,
                                               tgl_pulang=discharged, jenis_rawat=1, kelas_rawat=3,
                                               diagnosa=["S71.0", "A00.1"], procedure=[],  # [] clears: "#"
                                               tarif_rs=Decimal("2500000"), kode_tarif="AP",
                                               payor_id=3, payor_cd="JKN", discharge_status=1))
    grouping = client.grouper(sep)                     # GroupingResult: cbg, sub_acute, chronic, kelas, ...
    if grouping.special_cmg_option:                    # choose among them, then stage 2
        grouping = client.grouper(sep, [option.code for option in grouping.special_cmg_option])
    if not grouping.is_error:                          # X-0-nn-X groups come back as OK answers
        client.claim_final(sep, coder_nik="123123123123")
        client.send_claim_individual(sep)              # [DataCentreStatus(kemkes_dc_status="sent", ...)]
    record = client.get_claim_data(sep)                # ClaimRecord: .data (the manual's record), .grouping
    pdf = client.claim_print(sep)                      # bytes

On a 5.10 server (`EKlaimClient(..., protocol="5.10")`) coding goes its own way (manual 5.10 §VII)::

    client.set_claim_data(sep, ClaimDataUpdate(coder_nik=nik, cara_masuk="gp", tarif_rs={"kamar": 6000000, ...}))
    client.idrg_diagnosa_set(sep, ["S71.0", "A00.1"]); client.idrg_procedure_set(sep, ["81.52", "86.22+2"])
    idrg = client.grouper_idrg(sep)                    # IdrgResult: mdc_number, drg_code, ..., is_ungroupable
    client.idrg_grouper_final(sep)
    imported = client.idrg_to_inacbg_import(sep)       # CodingImport: .diagnosa/.procedure, .refused (E2101)
    grouping = client.grouper_inacbg(sep)              # then stage 2 with the chosen special CMGs
    client.inacbg_grouper_final(sep); client.claim_final(sep, coder_nik=nik)

`decide(method, failure)` says what a failure means for the flow: DONE_ALREADY (E2102 on a repeated *_final, E2009
on claim_final), STEP_SKIPPED (E2103/E2104: `missing_step` names the final to redo), CODING_FINAL (E2102 on a
coding setter or grouper: `reedits_first` names the re-edits to do before repeating it), RETRY, BUSINESS.

Errors: `EKlaimError(error_no, message, payload)` when E-Klaim refuses (metadata.code 400, E20xx);
`EKlaimTransportError` when no answer came back (network, HTTP status, wrong key, not JSON) — reads are retried a
few times, writes never, so after a transport error on a write its effect is unknown and the caller must check
(e.g. get_claim_data) before repeating it. Nothing here logs the key; request/answer payloads only at DEBUG, with
patient names masked.
"""

from fhirclaim.eklaim.client import SAFE_TO_REPEAT, EKlaimClient
from fhirclaim.eklaim.errors import (
    Decision,
    EKlaimDebugModeRefused,
    EKlaimError,
    EKlaimTransportError,
    decide,
    error_message,
    missing_step,
    reedits_first,
)
from fhirclaim.eklaim.messages import (
    ClaimDataUpdate,
    ClaimRecord,
    ClaimStatus,
    CodedItem,
    Coding,
    CodingImport,
    DataCentreStatus,
    Group,
    GroupingResult,
    IdrgResult,
    NewClaim,
    NewClaimResult,
    PatientUpdate,
    SitbValidation,
    SpecialCmg,
    SpecialCmgOption,
    TarifAlt,
    parse_claim_txt,
)
from fhirclaim.eklaim.transport import HttpTransport, InProcessTransport, Transport

__all__ = [
    "SAFE_TO_REPEAT", "ClaimDataUpdate", "ClaimRecord", "ClaimStatus", "CodedItem", "Coding", "CodingImport",
    "DataCentreStatus", "Decision", "EKlaimClient", "EKlaimDebugModeRefused", "EKlaimError", "EKlaimTransportError",
    "Group", "GroupingResult", "HttpTransport", "IdrgResult", "InProcessTransport", "NewClaim", "NewClaimResult",
    "PatientUpdate", "SitbValidation", "SpecialCmg", "SpecialCmgOption", "TarifAlt", "Transport", "decide",
    "error_message", "missing_step", "parse_claim_txt", "reedits_first",
]
