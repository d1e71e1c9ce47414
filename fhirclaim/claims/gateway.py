"""The pipeline's idempotent view of one E-Klaim installation.

Every operation here can be repeated after a crash or a lost answer without doing twice what must happen once.
Opening a claim tries new_claim first, which is its own check: E-Klaim refuses a SEP it holds (E2007, with the
claims that hold it), and only then is the claim's record read (get_claim_data) to see whose it is and whether it is
final, so a new claim costs one call, not two (issue 17). A write whose answer was lost raises
`EKlaimTransportError`; the job retries the whole step later, and E-Klaim's answer to the repeat tells what happened.
A repeated call E-Klaim answers "done already" (E2102 on a repeated *_final, E2009 on claim_final: `decide`) is
taken as done; one it answers "an earlier step is missing" (E2103, E2104, E2018) redoes that step, then repeats; a
coding setter or grouper answered "coding sudah final" (E2102: finalised outside this flow) re-edits that coding
in the manual's order, then repeats.

`protocol` is what the E-Klaim speaks: on "5.10" (manual 5.10 §VII) coding goes through idrg_diagnosa_set /
idrg_procedure_set, grouper idrg, idrg_grouper_final, idrg_to_inacbg_import (and inacbg_*_set where INA-CBG coding
must differ), then grouper inacbg and inacbg_grouper_final before claim_final; re-editing a final claim is
reedit_claim → inacbg_grouper_reedit → idrg_grouper_reedit. On "5.1" the coding rides in set_claim_data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fhirclaim.eklaim import (
    ClaimDataUpdate,
    ClaimRecord,
    Coding,
    CodingImport,
    Decision,
    EKlaimClient,
    EKlaimError,
    GroupingResult,
    IdrgResult,
    NewClaim,
    decide,
    missing_step,
    reedits_first,
)
from fhirclaim.fhir.outcome import FhirError

log = logging.getLogger(__name__)
T = TypeVar("T")

NOT_FOUND = "E2004"
DUPLICATE_SEP = ("E2007", "E2003")
NOT_FINAL = "E2002"
SENT_CANNOT_REEDIT = "E2039"
UNGROUPABLE = "E2105"
MAX_RESUMES = 3  # claim_final → E2104 → inacbg final → E2103 → idrg final: at most this many steps redone


class Ungroupable(Exception):
    """iDRG grouped the claim into MDC 36 (Ungroupable or Unrelated; E2105 on idrg_grouper_final)."""

    def __init__(self, nomor_sep: str, idrg: IdrgResult | None, reason: str):
        super().__init__(reason)
        self.nomor_sep = nomor_sep
        self.idrg = idrg


class SepConflict(Exception):
    """The SEP is already held in E-Klaim by another patient (the 409-like outcome of architecture §4)."""

    def __init__(self, nomor_sep: str, holders: list[str]):
        super().__init__(f"SEP {nomor_sep} is already claimed in E-Klaim for medical record(s) {', '.join(holders)}")
        self.nomor_sep = nomor_sep
        self.holders = holders


@dataclass
class EKlaimGateway:
    client: EKlaimClient
    # The embedded sandbox registers coders itself (architecture §4: a new user's first claim goes through);
    # a real E-Klaim does not, and E2006 then tells the hospital to register the NIK.
    register_coder: Callable[[str, str], None] | None = None
    protocol: str = "5.1"

    @property
    def speaks_510(self) -> bool:
        return self.protocol == "5.10"

    def record(self, nomor_sep: str) -> ClaimRecord | None:
        try:
            return self.client.get_claim_data(nomor_sep)
        except EKlaimError as error:
            if error.error_no == NOT_FOUND:
                return None
            raise

    def open_claim(self, fields: Mapping[str, str], *, reopen: bool) -> ClaimRecord | None:
        """new_claim; when E-Klaim holds the SEP already (E2007/E2003), its record, which must be this patient's,
        re-edited when final and `reopen`. Returns that record, None when new_claim opened the claim (E-Klaim is
        not asked again: the pipeline reads nothing from a claim it just opened, issue 17)."""
        nomor_sep, nomor_rm = fields["nomor_sep"], fields["nomor_rm"]
        try:
            self.client.new_claim(NewClaim(**fields))
            return None
        except EKlaimError as error:
            if error.error_no not in DUPLICATE_SEP:
                raise
            holders = [str(d.get("nomor_rm")) for d in error.duplicate or []]
            if holders and nomor_rm not in holders:
                raise SepConflict(nomor_sep, holders) from None
        existing = self.record(nomor_sep)
        if existing is None:  # deleted since new_claim's answer: opened once more (a second refusal is an error)
            self.client.new_claim(NewClaim(**fields))
            return None
        holder = str(existing.data.get("nomor_rm") or "")
        if holder and holder != nomor_rm:
            raise SepConflict(nomor_sep, [holder])
        if reopen:
            self.reopen(nomor_sep, existing)
        return existing

    def reopen(self, nomor_sep: str, existing: ClaimRecord) -> None:
        """Make a claim editable again, in the manual's order: reedit_claim when final, then on 5.10
        inacbg_grouper_reedit and idrg_grouper_reedit ("belum final" answers mean there was nothing to reopen).
        E2039: the claim was sent and E-Klaim cannot re-edit it, which no retry changes."""
        if existing.is_final:
            self._done_once("reedit_claim", lambda: self.client.reedit_claim(nomor_sep))
        if self.speaks_510:
            self._done_once("inacbg_grouper_reedit", lambda: self.client.inacbg_grouper_reedit(nomor_sep))
            self._done_once("idrg_grouper_reedit", lambda: self.client.idrg_grouper_reedit(nomor_sep))

    def set_claim_data(self, nomor_sep: str, fields: Mapping[str, str], coder_name: str) -> None:
        self._ensure_coder(fields.get("coder_nik"), coder_name)
        self.client.set_claim_data(nomor_sep, ClaimDataUpdate.of({k: v for k, v in fields.items()
                                                                  if k != "nomor_sep"}))

    def group(self, nomor_sep: str, special_cmg: list[str], *, upgrade: bool = False) -> GroupingResult:
        """INA-CBG stage 1, and stage 2 when options came back and a choice is named (5.10: grouper inacbg)."""
        grouper = self.client.grouper_inacbg if self.speaks_510 else self.client.grouper
        result = self._resuming("grouper", nomor_sep, lambda: grouper(nomor_sep))
        if result.special_cmg_option and special_cmg:
            offered = {option.code for option in result.special_cmg_option}
            chosen = [code for code in special_cmg if code in offered]
            if chosen:
                result = self._resuming("grouper", nomor_sep, lambda: grouper(nomor_sep, chosen))
        if upgrade and self.speaks_510:
            result = self._with_add_payment(nomor_sep, result)
        return result

    def _with_add_payment(self, nomor_sep: str, result: GroupingResult) -> GroupingResult:
        """5.10's response_inacbg has no add_payment_amt (the class upgrade's excess); get_claim_data has it."""
        response = result.raw.get("response_inacbg")
        if not isinstance(response, Mapping) or "add_payment_amt" in response:
            return result
        record = self.record(nomor_sep)
        amount = record.data.get("add_payment_amt") if record else None
        return GroupingResult.from_answer({**result.raw, "response_inacbg": {**response, "add_payment_amt": amount}})

    def finalise(self, nomor_sep: str, coder_nik: str, coder_name: str) -> None:
        """claim_final; a repeat after a lost answer (E2009) is done already, a skipped INA-CBG final is redone."""
        self._ensure_coder(coder_nik, coder_name)
        self._resuming("claim_final", nomor_sep, lambda: self.client.claim_final(nomor_sep, coder_nik), coder_nik)

    def send(self, nomor_sep: str, coder_nik: str = "") -> list[dict[str, str | None]]:
        statuses = self._resuming("send_claim_individual", nomor_sep,
                                  lambda: self.client.send_claim_individual(nomor_sep), coder_nik) or []
        return [{"nomor_sep": s.nomor_sep, "kemkes_dc_status": s.kemkes_dc_status, "bpjs_dc_status": s.bpjs_dc_status}
                for s in statuses]

    # --- 5.10: iDRG coding, grouping and final, the import, INA-CBG coding and final ---------------------------

    def set_idrg_coding(self, nomor_sep: str, method: str, codes: Sequence[str]) -> Coding:
        """idrg_diagnosa_set / idrg_procedure_set; a code E-Klaim does not take is a business error naming it
        (E-Klaim would silently group without it)."""
        setter = self.client.idrg_diagnosa_set if method == "idrg_diagnosa_set" else self.client.idrg_procedure_set
        coding = self._resuming(method, nomor_sep, lambda: setter(nomor_sep, list(codes)))
        if coding.refused:
            refused = ", ".join(f"{item.code} ({item.message or 'tidak berlaku'})" for item in coding.refused)
            raise EKlaimError("E2101", f"E-Klaim did not take the iDRG code(s) {refused}", {})
        return coding

    def group_idrg(self, nomor_sep: str, topups: Sequence[str] = ()) -> IdrgResult:
        """grouper idrg stage 1, and stage 2 when top-ups came back as options and the Claim chose among them;
        MDC 36 (ungroupable or unrelated) raises Ungroupable."""
        result = self._resuming("grouper", nomor_sep, lambda: self.client.grouper_idrg(nomor_sep))
        chosen = [code for code in topups if code in result.topup_options]
        if chosen and not result.is_ungroupable:
            result = self._resuming("grouper", nomor_sep, lambda: self.client.grouper_idrg(nomor_sep, chosen))
        if result.is_ungroupable:
            raise Ungroupable(nomor_sep, result, f"iDRG {result.drg_code} {result.drg_description}".strip())
        return result

    def finalise_idrg(self, nomor_sep: str) -> None:
        try:
            self._done_once("idrg_grouper_final", lambda: self.client.idrg_grouper_final(nomor_sep))
        except EKlaimError as error:
            if error.error_no == UNGROUPABLE:
                raise Ungroupable(nomor_sep, None, f"{error.error_no}: {error.message}") from None
            raise

    def import_coding(self, nomor_sep: str) -> CodingImport:
        return self._resuming("idrg_to_inacbg_import", nomor_sep, lambda: self.client.idrg_to_inacbg_import(nomor_sep))

    def set_inacbg_coding(self, nomor_sep: str, method: str, codes: Sequence[str]) -> Coding:
        setter = (self.client.inacbg_diagnosa_set if method == "inacbg_diagnosa_set"
                  else self.client.inacbg_procedure_set)
        return self._resuming(method, nomor_sep, lambda: setter(nomor_sep, list(codes)))

    def generate_claim_number(self) -> str:
        """A claim number for a claim without SEP (5.10). Not repeatable: the caller records it before using it."""
        return self.client.generate_claim_number()

    def validate_sitb(self, nomor_sep: str, nomor_register_sitb: str) -> dict[str, str]:
        """sitb_validate; an INVALID register is a business error (E-Klaim answers it with code 200)."""
        result = self.client.sitb_validate(nomor_sep, nomor_register_sitb)
        if not result.is_valid:
            raise EKlaimError("E2066", f"SITB register {nomor_register_sitb}: {result.detail or result.status}", {})
        return {"status": result.status, "detail": result.detail}

    def finalise_inacbg(self, nomor_sep: str) -> None:
        self._resuming("inacbg_grouper_final", nomor_sep, lambda: self.client.inacbg_grouper_final(nomor_sep))

    # --- what E-Klaim's errors mean for the flow ---------------------------------------------------------------

    def _done_once(self, method: str, call: Callable[[], T]) -> T | None:
        """The call, or None when E-Klaim answers that it is done already."""
        try:
            return call()
        except EKlaimError as error:
            if decide(method, error) is Decision.DONE_ALREADY:
                log.info("eklaim %s done already (%s)", method, error.error_no)
                return None
            if method == "reedit_claim" and error.error_no == SENT_CANNOT_REEDIT:
                raise EKlaimError(error.error_no, f"{error.message} — the claim was sent to the data centre and "
                                                  f"E-Klaim cannot re-edit it; correct it with BPJS-K instead",
                                  error.payload) from None
            raise

    def _resuming(self, method: str, nomor_sep: str, call: Callable[[], T], coder_nik: str = "",
                  depth: int = 0) -> T | None:
        """`_done_once`, and when E-Klaim says an earlier final is missing (E2103/E2104/E2018): that final, then
        the call again; when it says the coding is final already (E2102 on a setter or grouper): its re-edits,
        then the call again."""
        try:
            return self._done_once(method, call)
        except EKlaimError as error:
            if decide(method, error) is Decision.CODING_FINAL and depth < MAX_RESUMES:
                log.info("eklaim %s refused with %s (%s): re-editing first", method, error.error_no, error.message)
                for reedit in reedits_first(error):
                    self._done_once(reedit, lambda r=reedit: getattr(self.client, r)(nomor_sep))
                return self._resuming(method, nomor_sep, call, coder_nik, depth + 1)
            step = missing_step(error)
            if decide(method, error) is not Decision.STEP_SKIPPED or step is None or depth >= MAX_RESUMES:
                raise
            log.info("eklaim %s refused with %s: redoing %s first", method, error.error_no, step)
            self._resuming(step, nomor_sep, self._final_call(step, nomor_sep, coder_nik), coder_nik, depth + 1)
            return self._resuming(method, nomor_sep, call, coder_nik, depth + 1)

    def _final_call(self, step: str, nomor_sep: str, coder_nik: str) -> Callable[[], Any]:
        finals: dict[str, Callable[[], Any]] = {
            "idrg_grouper_final": lambda: self.client.idrg_grouper_final(nomor_sep),
            "inacbg_grouper_final": lambda: self.client.inacbg_grouper_final(nomor_sep),
            "claim_final": lambda: self.client.claim_final(nomor_sep, coder_nik),
        }
        return finals[step]

    def withdraw(self, nomor_sep: str, coder_nik: str, coder_name: str) -> bool:
        """reedit_claim if final, then delete_claim; False when E-Klaim never had the claim."""
        self._ensure_coder(coder_nik, coder_name)
        existing = self.record(nomor_sep)
        if existing is None:
            return False
        self.reopen(nomor_sep, existing)
        self._done_once("delete_claim", lambda: self.client.delete_claim(nomor_sep, coder_nik))
        return True

    def print_claim(self, nomor_sep: str) -> bytes:
        try:
            return self.client.claim_print(nomor_sep)
        except EKlaimError as error:
            if error.error_no in (NOT_FINAL, NOT_FOUND):
                raise FhirError.of(409, "business-rule", f"E-Klaim prints final claims only ({error.error_no}: "
                                                         f"{error.message})") from None
            raise

    def _ensure_coder(self, nik: str | None, name: str) -> None:
        if self.register_coder and nik:
            self.register_coder(nik, name or nik)
