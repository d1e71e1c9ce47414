"""What can go wrong when talking to E-Klaim, kept in two families that callers must treat differently.

- `EKlaimError`: the server understood the call and said no (`metadata.code` 400 with an `error_no` such as
  E2007). Repeating the same call gives the same answer; the pipeline decides what it means (e.g. a duplicate SEP of
  the same patient = already done).
- `EKlaimTransportError`: no business answer came back (connection refused, timeout, HTTP error status, an answer
  that does not decrypt or is not JSON). Whether the call took effect is unknown; only calls that are safe to
  repeat are retried.

The table of error numbers and their texts is a data file (`data/error_codes.csv`), loaded once. `decide` says
what an error means for the claim flow (see `Decision`), the same way for every caller.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any


class EKlaimError(Exception):
    """A business error answer: `metadata.code` 400 (or any non-200 code) with `metadata.error_no`."""

    def __init__(self, error_no: str, message: str, payload: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{error_no}: {message}")
        self.error_no = error_no
        self.message = message
        self.payload: Mapping[str, Any] = payload or {}

    @property
    def duplicate(self) -> list[dict[str, Any]]:
        """The `duplicate` list of E2003/E2007 answers (nama_pasien, nomor_rm, tgl_masuk of each claim)."""
        value = self.payload.get("duplicate")
        return list(value) if isinstance(value, list) else []


class EKlaimTransportError(Exception):
    """No usable answer: network, HTTP status, decryption or JSON failure.

    `retryable` says whether repeating the request could help (timeouts, refused connections and 5xx answers);
    an answer that does not decrypt means a wrong key, which no retry fixes.
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class EKlaimDebugModeRefused(EKlaimTransportError):
    """The server answered `MODE DEBUG IS NOT ALLOWED` to a `?mode=debug` call."""

    def __init__(self) -> None:
        super().__init__("the E-Klaim server does not allow mode=debug")


@cache
def error_messages() -> Mapping[str, str]:
    """`error_no` → the text real servers send with it (E2001 … E2099, E2101 …)."""
    table = resources.files("fhirclaim.eklaim").joinpath("data/error_codes.csv")
    with table.open(encoding="utf-8", newline="") as handle:
        return {row["error_no"]: row["message"] for row in csv.DictReader(handle)}


def error_message(error_no: str) -> str:
    """The text for an error number; KeyError for a number the table does not know (a bug in the caller)."""
    return error_messages()[error_no]


class Decision(str, Enum):
    """What a failed E-Klaim call means for the claim flow."""

    DONE_ALREADY = "done-already"  # the call's effect is already there (a repeat after a lost answer): go on
    STEP_SKIPPED = "step-skipped"  # an earlier step is missing on E-Klaim's side: redo it (`missing_step`), repeat
    CODING_FINAL = "coding-final"  # a coding setter or grouper on a final coding: re-edit it (`reedits_first`), repeat
    RETRY = "retry"  # no answer came back: try again later
    BUSINESS = "business-error"  # E-Klaim refuses the claim as it is: tell the hospital, with E-Klaim's message


# method → the error numbers that say "this is done already". E2102 "iDRG/INACBG coding sudah final" and E2009
# "Klaim sudah final" answer a final repeated; the re-edits answer "belum final" when repeated; new_claim answers
# E2007/E2003 when the SEP exists (the caller still checks that it is the same patient's).
DONE_ALREADY: Mapping[str, frozenset[str]] = {
    "new_claim": frozenset({"E2007", "E2003"}),
    "idrg_grouper_final": frozenset({"E2102"}),
    "inacbg_grouper_final": frozenset({"E2102"}),
    "claim_final": frozenset({"E2009"}),
    "idrg_grouper_reedit": frozenset({"E2103"}),
    "inacbg_grouper_reedit": frozenset({"E2104", "E2103"}),  # iDRG not final: INA-CBG cannot be either
    "reedit_claim": frozenset({"E2002", "E2018"}),
    "delete_claim": frozenset({"E2004"}),
}
# error number → the step E-Klaim says is missing (E2103 iDRG coding not final, E2104 INACBG coding not final,
# E2018 claim not final yet).
MISSING_STEP: Mapping[str, str] = {"E2103": "idrg_grouper_final", "E2104": "inacbg_grouper_final",
                                   "E2018": "claim_final"}


# E2102 "iDRG/INACBG coding sudah final" on a coding setter or a grouper: this flow records every setter before its
# final and re-edits both codings before it codes again, so the coding was finalised outside it (in E-Klaim's own
# screens, between two of its steps). The Claim is what the hospital wants coded: re-edit that side, in the
# manual's order (INA-CBG before iDRG), and repeat the call.
CODING_CHANGES = frozenset({"idrg_diagnosa_set", "idrg_procedure_set", "inacbg_diagnosa_set", "inacbg_procedure_set",
                            "grouper"})
REEDITS: Mapping[str, tuple[str, ...]] = {"idrg": ("inacbg_grouper_reedit", "idrg_grouper_reedit"),
                                          "inacbg": ("inacbg_grouper_reedit",)}


def decide(method: str, failure: Exception) -> Decision:
    """The flow's decision on a failed call of `method`."""
    if isinstance(failure, EKlaimTransportError):
        return Decision.RETRY
    if not isinstance(failure, EKlaimError):
        raise TypeError(f"not an E-Klaim failure: {failure!r}")
    if failure.error_no in DONE_ALREADY.get(method, ()):
        return Decision.DONE_ALREADY
    if failure.error_no in MISSING_STEP and MISSING_STEP[failure.error_no] != method:
        return Decision.STEP_SKIPPED
    if failure.error_no == "E2102" and method in CODING_CHANGES:
        return Decision.CODING_FINAL
    return Decision.BUSINESS


def reedits_first(failure: EKlaimError) -> tuple[str, ...]:
    """The re-edits to call, in order, before repeating a call refused as CODING_FINAL (E2102 names its side)."""
    return REEDITS["idrg" if "idrg" in failure.message.lower() else "inacbg"]


def missing_step(failure: EKlaimError) -> str | None:
    """The method to call before repeating a call refused as STEP_SKIPPED."""
    return MISSING_STEP.get(failure.error_no)
