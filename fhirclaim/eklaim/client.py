"""The E-Klaim web service client: one method per method of the manual.

Every call is `{"metadata": {"method": ...}, "data": {...}}`, encrypted with the hospital's key (or plain JSON in
debug mode), POSTed to ws.php; the answer is decrypted and judged by `metadata.code`:
200 → the parsed answer; anything else → `EKlaimError(error_no, message, payload)`. Failures that leave no business
answer raise `EKlaimTransportError`; those are retried (a few times, with a short growing pause) only for calls
that read and so are safe to repeat — never for calls that write, whose effect is then unknown to the caller.

`protocol` is the E-Klaim build the server speaks: "5.10" (iDRG era: coding through idrg_*_set, grouping with
`metadata.grouper` idrg | inacbg, no coding in set_claim_data) or "5.1" (2017: coding in set_claim_data, one
grouper). Every call is logged at INFO with its method and SEP (never patient data), so the method sequence of one
claim can be read from the log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fhirclaim.backoff import Backoff
from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.errors import EKlaimDebugModeRefused, EKlaimError, EKlaimTransportError
from fhirclaim.eklaim.messages import (
    ClaimDataUpdate,
    ClaimRecord,
    ClaimStatus,
    CodeList,
    Coding,
    CodingImport,
    DataCentreStatus,
    Dateish,
    GroupingResult,
    IdrgResult,
    NewClaim,
    NewClaimResult,
    PatientUpdate,
    SitbValidation,
    format_codes,
    format_date,
)
from fhirclaim.eklaim.transport import Transport

log = logging.getLogger(__name__)

# Reads: repeating them changes nothing on the server (grouper recomputes and stores the same result).
SAFE_TO_REPEAT = frozenset({"get_claim_data", "get_claim_status", "pull_claim", "claim_print", "grouper",
                            "idrg_diagnosa_get", "idrg_procedure_get", "inacbg_diagnosa_get", "inacbg_procedure_get"})
PROTOCOLS = ("5.10", "5.1")
DEBUG_REFUSED = b"MODE DEBUG IS NOT ALLOWED"
_REDACTED_FIELDS = frozenset({"nama_pasien"})  # patient names never reach the logs, even at DEBUG


class EKlaimClient:
    """A client for one E-Klaim ws.php.

    `transport`: `HttpTransport(url, timeout)` for a real or standalone server, `InProcessTransport(app)` for the
    embedded emulator. `key_hex`: the 64-hex key from E-Klaim's Setup → Integrasi SIMRS (never logged).
    `debug`: plain JSON with `?mode=debug` (development only). `retries`/`backoff`: extra attempts and first pause
    (seconds, doubled each time, at most 2 s) for transport failures of calls in `SAFE_TO_REPEAT`.
    `grouper_name`: sent as `metadata.grouper` on `grouper` calls (5.10 servers: "inacbg"; `grouper_idrg` and
    `grouper_inacbg` name it themselves). `protocol`: "5.1" (the default of this library, for 5.1 servers) or
    "5.10"; a 5.10 client refuses to put coding into set_claim_data (ValueError).
    """

    def __init__(self, transport: Transport, key_hex: str, *, debug: bool = False, retries: int = 2,
                 backoff: float = 0.2, grouper_name: str | None = None, protocol: str = "5.1",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        crypto.encrypt(b"", key_hex)  # fail now, not at the first call, on a malformed key
        if protocol not in PROTOCOLS:
            raise ValueError(f"E-Klaim protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
        self.protocol = protocol
        self._transport = transport
        self._key = key_hex
        self.debug = debug
        self.retries = max(0, retries)
        self.backoff = backoff
        self.grouper_name = grouper_name
        self._sleep = sleep

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"EKlaimClient(transport={self._transport!r}, debug={self.debug})"

    # --- patients and admissions ----------------------------------------------------------------------------

    def new_claim(self, claim: NewClaim) -> NewClaimResult:
        """Open a claim for a SEP (registering the patient if new). E2007 carries the `duplicate` list."""
        answer = self.call("new_claim", claim.to_data())
        return NewClaimResult.from_response(answer.get("response") or {})

    def update_patient(self, nomor_rm: str, patient: PatientUpdate) -> None:
        """Change a patient's data; `patient.nomor_rm` (if given) is the patient's new RM number."""
        self.call("update_patient", patient.to_data(), metadata={"nomor_rm": nomor_rm})

    def delete_patient(self, nomor_rm: str, coder_nik: str) -> None:
        self.call("delete_patient", {"nomor_rm": nomor_rm, "coder_nik": coder_nik})

    # --- claim data, grouping, final ------------------------------------------------------------------------

    def set_claim_data(self, nomor_sep: str, update: ClaimDataUpdate) -> None:
        """Fill or change the claim named by `nomor_sep`: only the fields set in `update` change (on 5.10 never
        the coding: ValueError)."""
        self.call("set_claim_data", update.to_data(self.protocol), metadata={"nomor_sep": nomor_sep})

    def grouper(self, nomor_sep: str, special_cmg: Sequence[str] = ()) -> GroupingResult:
        """Stage 1, or stage 2 when `special_cmg` names options offered by stage 1 (e.g. `["RR04", "YY01"]`)."""
        return self._grouper(nomor_sep, special_cmg, self.grouper_name)

    def _grouper(self, nomor_sep: str, special_cmg: Sequence[str], grouper_name: str | None) -> GroupingResult:
        data: dict[str, Any] = {"nomor_sep": nomor_sep}
        metadata: dict[str, Any] = {"stage": "2" if special_cmg else "1"}
        if special_cmg:
            data["special_cmg"] = "#".join(special_cmg)
        if grouper_name:
            metadata["grouper"] = grouper_name
        return GroupingResult.from_answer(self.call("grouper", data, metadata=metadata))

    # --- 5.10: iDRG coding and grouping, then INA-CBG (manual 5.10 §IV.5–18, §VII) ---------------------------

    def idrg_diagnosa_set(self, nomor_sep: str, diagnosa: CodeList) -> Coding:
        """ICD-10-IM codes, principal first; `[]` clears (`#`). Codes E-Klaim does not know come back refused."""
        return self._coding("idrg_diagnosa_set", nomor_sep, "diagnosa", diagnosa)

    def idrg_procedure_set(self, nomor_sep: str, procedure: CodeList) -> Coding:
        """ICD-9-CM-IM codes; `86.22+2` = twice in one operation, a repeated code = another operation."""
        return self._coding("idrg_procedure_set", nomor_sep, "procedure", procedure)

    def idrg_diagnosa_get(self, nomor_sep: str) -> Coding:
        return Coding.parse(self.call("idrg_diagnosa_get", {"nomor_sep": nomor_sep}).get("data"))

    def idrg_procedure_get(self, nomor_sep: str) -> Coding:
        return Coding.parse(self.call("idrg_procedure_get", {"nomor_sep": nomor_sep}).get("data"))

    def grouper_idrg(self, nomor_sep: str, topup_codes: Sequence[str] = ()) -> IdrgResult:
        """iDRG grouping: stage 1, or stage 2 with the top-ups chosen among stage 1's `topup_options` (codes joined
        with '#', as special CMGs are); an MDC 36 result (`is_ungroupable`) comes back as an OK answer."""
        if topup_codes:
            return IdrgResult.from_answer(self.call("grouper", {"nomor_sep": nomor_sep,
                                                                "topup_codes": "#".join(topup_codes)},
                                                    metadata={"stage": "2", "grouper": "idrg"}))
        metadata = {"stage": "1", "grouper": "idrg"}
        return IdrgResult.from_answer(self.call("grouper", {"nomor_sep": nomor_sep}, metadata=metadata))

    def idrg_grouper_final(self, nomor_sep: str) -> None:
        self.call("idrg_grouper_final", {"nomor_sep": nomor_sep})

    def idrg_grouper_reedit(self, nomor_sep: str) -> None:
        self.call("idrg_grouper_reedit", {"nomor_sep": nomor_sep})

    def idrg_to_inacbg_import(self, nomor_sep: str) -> CodingImport:
        """Copy the final iDRG coding to INA-CBG; IM-only codes come back refused (E2101 "IM tidak berlaku")."""
        return CodingImport.from_answer(self.call("idrg_to_inacbg_import", {"nomor_sep": nomor_sep}))

    def inacbg_diagnosa_set(self, nomor_sep: str, diagnosa: CodeList) -> Coding:
        return self._coding("inacbg_diagnosa_set", nomor_sep, "diagnosa", diagnosa)

    def inacbg_procedure_set(self, nomor_sep: str, procedure: CodeList) -> Coding:
        return self._coding("inacbg_procedure_set", nomor_sep, "procedure", procedure)

    def inacbg_diagnosa_get(self, nomor_sep: str) -> Coding:
        return Coding.parse(self.call("inacbg_diagnosa_get", {"nomor_sep": nomor_sep}).get("data"))

    def inacbg_procedure_get(self, nomor_sep: str) -> Coding:
        return Coding.parse(self.call("inacbg_procedure_get", {"nomor_sep": nomor_sep}).get("data"))

    def grouper_inacbg(self, nomor_sep: str, special_cmg: Sequence[str] = ()) -> GroupingResult:
        """INA-CBG grouping on a 5.10 server: stage 1, or stage 2 with the chosen special CMG options."""
        return self._grouper(nomor_sep, special_cmg, "inacbg")

    def inacbg_grouper_final(self, nomor_sep: str) -> None:
        self.call("inacbg_grouper_final", {"nomor_sep": nomor_sep})

    def inacbg_grouper_reedit(self, nomor_sep: str) -> None:
        self.call("inacbg_grouper_reedit", {"nomor_sep": nomor_sep})

    def sitb_validate(self, nomor_sep: str, nomor_register_sitb: str) -> SitbValidation:
        """Check a TB patient's SITB register number (an INVALID one is an OK answer with status INVALID)."""
        return SitbValidation.from_answer(self.call("sitb_validate", {"nomor_sep": nomor_sep,
                                                                      "nomor_register_sitb": nomor_register_sitb}))

    def sitb_invalidate(self, nomor_sep: str) -> None:
        self.call("sitb_invalidate", {"nomor_sep": nomor_sep})

    def generate_claim_number(self) -> str:
        """A claim number for claims without a SEP (COVID-19, KIPI, newborn, co-incidence), used as new_claim's
        nomor_sep. The call has no `data` (the manual calls a `payor_id` there wrong)."""
        response = self.call("generate_claim_number").get("response")
        number = response.get("claim_number") if isinstance(response, Mapping) else None
        if not isinstance(number, str) or not number:
            raise EKlaimTransportError("generate_claim_number answer has no claim_number")
        return number

    def _coding(self, method: str, nomor_sep: str, name: str, codes: CodeList) -> Coding:
        answer = self.call(method, {name: format_codes(codes)}, metadata={"nomor_sep": nomor_sep})
        return Coding.parse(answer.get("data"))

    # --- final, re-edit, delete -----------------------------------------------------------------------------

    def claim_final(self, nomor_sep: str, coder_nik: str) -> None:
        self.call("claim_final", {"nomor_sep": nomor_sep, "coder_nik": coder_nik})

    def reedit_claim(self, nomor_sep: str) -> None:
        """Reopen a final claim for editing."""
        self.call("reedit_claim", {"nomor_sep": nomor_sep})

    def delete_claim(self, nomor_sep: str, coder_nik: str) -> None:
        self.call("delete_claim", {"nomor_sep": nomor_sep, "coder_nik": coder_nik})

    # --- data centre ----------------------------------------------------------------------------------------

    def send_claim(self, start_dt: Dateish, stop_dt: Dateish, jenis_rawat: int | str,
                   date_type: int | str | None = None) -> list[DataCentreStatus]:
        """Send the final claims of a period to the data centre. `jenis_rawat`: 1 inap, 2 jalan (3 both on
        servers that know it); `date_type`: 1 = by discharge date (default), 2 = by grouping date."""
        data: dict[str, Any] = {"start_dt": format_date(start_dt), "stop_dt": format_date(stop_dt),
                                "jenis_rawat": str(jenis_rawat)}
        if date_type is not None:
            data["date_type"] = str(date_type)
        return _statuses(self.call("send_claim", data))

    def send_claim_individual(self, nomor_sep: str) -> list[DataCentreStatus]:
        return _statuses(self.call("send_claim_individual", {"nomor_sep": nomor_sep}))

    def pull_claim(self, start_dt: Dateish, stop_dt: Dateish, jenis_rawat: int | str) -> str:
        """The tab-separated TXT export of the final claims discharged in the period (see `parse_claim_txt`)."""
        answer = self.call("pull_claim", {"start_dt": format_date(start_dt), "stop_dt": format_date(stop_dt),
                                          "jenis_rawat": str(jenis_rawat)})
        response = answer.get("response")
        text = response.get("data") if isinstance(response, Mapping) else None
        if not isinstance(text, str):
            raise EKlaimTransportError("pull_claim answer has no TXT data")
        return text

    # --- reading --------------------------------------------------------------------------------------------

    def get_claim_data(self, nomor_sep: str) -> ClaimRecord:
        answer = self.call("get_claim_data", {"nomor_sep": nomor_sep})
        return ClaimRecord.from_response(answer.get("response") or {})

    def get_claim_status(self, nomor_sep: str) -> ClaimStatus:
        """The BPJS status of the SEP (E-Klaim asks BPJS VClaim)."""
        answer = self.call("get_claim_status", {"nomor_sep": nomor_sep})
        return ClaimStatus.from_response(answer.get("response") or {})

    def claim_print(self, nomor_sep: str) -> bytes:
        """The claim form as PDF bytes."""
        answer = self.call("claim_print", {"nomor_sep": nomor_sep})
        encoded = answer.get("data")
        if not isinstance(encoded, str):
            raise EKlaimTransportError("claim_print answer has no data")
        try:
            pdf = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EKlaimTransportError("claim_print data is not base64") from exc
        if not pdf.startswith(b"%PDF"):
            raise EKlaimTransportError("claim_print data is not a PDF")
        return pdf

    # --- the wire -------------------------------------------------------------------------------------------

    def call(self, method: str, data: Mapping[str, Any] | None = None, *,
             metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One ws.php call; the whole decoded answer (metadata and all) when `metadata.code` is 200. `data` None
        sends no `data` object (generate_claim_number)."""
        return _judge(method, self._send(method, self.request_body(method, data, metadata=metadata)))

    def request_body(self, method: str, data: Mapping[str, Any] | None = None, *,
                     metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The plain message a call would send (before encryption): what tests compare with the manual."""
        message: dict[str, Any] = {"metadata": {"method": method, **(metadata or {})}}
        if data is not None:
            message["data"] = dict(data)
        return message

    def _send(self, method: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """Exchange with E-Klaim; transport failures of calls safe to repeat are retried with growing pauses."""
        attempts = 1 + (self.retries if method in SAFE_TO_REPEAT else 0)
        pauses = Backoff(initial=self.backoff, multiplier=2.0, maximum=2.0)
        attempt = 1
        while True:
            try:
                return self._exchange(method, message)
            except EKlaimTransportError as exc:
                if attempt >= attempts or not exc.retryable:
                    log.warning("eklaim %s failed after %d attempt(s): %s", method, attempt, exc)
                    raise
                pause = pauses.delay(attempt)
                log.info("eklaim %s attempt %d failed (%s); retrying in %.2f s", method, attempt, exc, pause)
                self._sleep(pause)
                attempt += 1

    def _exchange(self, method: str, message: Mapping[str, Any]) -> dict[str, Any]:
        plaintext = json.dumps(message, ensure_ascii=False).encode("utf-8")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("eklaim request %s", _redacted(message))
        body = plaintext if self.debug else crypto.encrypt(plaintext, self._key).encode("ascii")
        started = time.perf_counter()
        raw = self._transport.post(body, debug=self.debug)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answer = self._decode(raw)
        log.info("eklaim %s sep=%s → %s in %.1f ms", _call_name(message), _sep_of(message),
                 answer.get("metadata", {}).get("code"), elapsed_ms)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("eklaim answer %s", _redacted(answer))
        return answer

    def _decode(self, raw: bytes) -> dict[str, Any]:
        if self.debug:
            if raw.strip() == DEBUG_REFUSED:
                raise EKlaimDebugModeRefused()
            plaintext = raw
        else:
            try:
                plaintext = crypto.decrypt(raw, self._key)
            except crypto.DecryptionError:
                raise EKlaimTransportError(f"E-Klaim answer ({len(raw)} bytes) does not decrypt with this key"
                                           ) from None
        try:
            answer = json.loads(plaintext)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EKlaimTransportError("E-Klaim answer is not JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("metadata"), dict):
            raise EKlaimTransportError("E-Klaim answer has no metadata")
        return answer


def _judge(method: str, answer: dict[str, Any]) -> dict[str, Any]:
    """200 → the answer; else EKlaimError. Real servers send the code as 200 or "200"; the 5.10 manual shows a
    bare 2029 without error_no once, so the number falls back to E{code}."""
    metadata = answer["metadata"]
    code = str(metadata.get("code", "")).strip()
    if code == "200":
        return answer
    error_no = str(metadata.get("error_no") or (f"E{code}" if code.isdigit() and len(code) == 4 else code))
    message = str(metadata.get("message") or "")
    log.info("eklaim %s refused: %s %s", method, error_no, message)
    raise EKlaimError(error_no, message, answer)


def _call_name(message: Mapping[str, Any]) -> str:
    """The method, and for grouper calls which grouper and stage (`grouper idrg/1`, `grouper inacbg/2`)."""
    metadata = message.get("metadata") or {}
    if metadata.get("method") != "grouper":
        return str(metadata.get("method"))
    which = f"{metadata['grouper']}/" if metadata.get("grouper") else "stage "
    return f"grouper {which}{metadata.get('stage', '1')}"


def _sep_of(message: Mapping[str, Any]) -> str:
    """The SEP a call is about (metadata for *_set and set_claim_data, data for the rest), or "-"."""
    for part in (message.get("metadata"), message.get("data")):
        if isinstance(part, Mapping) and part.get("nomor_sep"):
            return str(part["nomor_sep"])
    return "-"


def _statuses(answer: Mapping[str, Any]) -> list[DataCentreStatus]:
    response = answer.get("response")
    items = response.get("data") if isinstance(response, Mapping) else None
    return [DataCentreStatus.parse(item) for item in items or () if isinstance(item, Mapping)]


def _redacted(message: Any) -> str:
    """A message for DEBUG logs: patient names masked, long blobs (the claim_print PDF) shortened."""

    def scrub(value: Any, key: str = "") -> Any:
        if key in _REDACTED_FIELDS:
            return "***"
        if isinstance(value, dict):
            return {k: scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and len(value) > 512:
            return value[:64] + f"...({len(value)} chars)"
        return value

    return json.dumps(scrub(message), ensure_ascii=False)
