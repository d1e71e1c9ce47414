"""The pipeline's idempotent view of one E-Klaim installation.

Every operation here can be repeated after a crash or a lost answer without doing twice what must happen once:
it first reads E-Klaim's own state (get_claim_data) and only then writes. A write whose answer was lost raises
`EKlaimTransportError`; the job retries the whole step later, and the read at its start tells what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fhirclaim.eklaim import (
    ClaimDataUpdate,
    ClaimRecord,
    EKlaimClient,
    EKlaimError,
    GroupingResult,
    NewClaim,
)
from fhirclaim.fhir.outcome import FhirError

NOT_FOUND = "E2004"
DUPLICATE_SEP = ("E2007", "E2003")
ALREADY_FINAL = "E2009"
NOT_FINAL = "E2002"


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

    def record(self, nomor_sep: str) -> ClaimRecord | None:
        try:
            return self.client.get_claim_data(nomor_sep)
        except EKlaimError as error:
            if error.error_no == NOT_FOUND:
                return None
            raise

    def open_claim(self, fields: Mapping[str, str], *, reopen: bool) -> ClaimRecord | None:
        """new_claim unless the SEP is already this patient's claim; re-edit it when final and `reopen`."""
        nomor_sep, nomor_rm = fields["nomor_sep"], fields["nomor_rm"]
        existing = self.record(nomor_sep)
        if existing is None:
            try:
                self.client.new_claim(NewClaim(**fields))
            except EKlaimError as error:
                if error.error_no not in DUPLICATE_SEP:
                    raise
                holders = [str(d.get("nomor_rm")) for d in error.duplicate or []]
                if holders and nomor_rm not in holders:
                    raise SepConflict(nomor_sep, holders) from None
            return self.record(nomor_sep)
        holder = str(existing.data.get("nomor_rm") or "")
        if holder and holder != nomor_rm:
            raise SepConflict(nomor_sep, [holder])
        if existing.is_final and reopen:
            self.client.reedit_claim(nomor_sep)
        return existing

    def set_claim_data(self, nomor_sep: str, fields: Mapping[str, str], coder_name: str) -> None:
        self._ensure_coder(fields.get("coder_nik"), coder_name)
        self.client.set_claim_data(nomor_sep, ClaimDataUpdate(**{k: v for k, v in fields.items()
                                                                 if k != "nomor_sep"}))

    def group(self, nomor_sep: str, special_cmg: list[str]) -> GroupingResult:
        """Stage 1, and stage 2 when options came back and a choice is named."""
        result = self.client.grouper(nomor_sep)
        if result.special_cmg_option and special_cmg:
            offered = {option.code for option in result.special_cmg_option}
            chosen = [code for code in special_cmg if code in offered]
            if chosen:
                result = self.client.grouper(nomor_sep, chosen)
        return result

    def finalise(self, nomor_sep: str, coder_nik: str, coder_name: str) -> None:
        self._ensure_coder(coder_nik, coder_name)
        try:
            self.client.claim_final(nomor_sep, coder_nik)
        except EKlaimError as error:
            if error.error_no != ALREADY_FINAL:  # a repeated final after a lost answer is done already
                raise

    def send(self, nomor_sep: str) -> list[dict[str, str | None]]:
        return [{"nomor_sep": s.nomor_sep, "kemkes_dc_status": s.kemkes_dc_status, "bpjs_dc_status": s.bpjs_dc_status}
                for s in self.client.send_claim_individual(nomor_sep)]

    def withdraw(self, nomor_sep: str, coder_nik: str, coder_name: str) -> bool:
        """reedit_claim if final, then delete_claim; False when E-Klaim never had the claim."""
        self._ensure_coder(coder_nik, coder_name)
        existing = self.record(nomor_sep)
        if existing is None:
            return False
        if existing.is_final:
            self.client.reedit_claim(nomor_sep)
        try:
            self.client.delete_claim(nomor_sep, coder_nik)
        except EKlaimError as error:
            if error.error_no != NOT_FOUND:
                raise
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
