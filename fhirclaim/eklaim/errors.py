"""What can go wrong when talking to E-Klaim, kept in two families that callers must treat differently.

- `EKlaimError`: the server understood the call and said no (`metadata.code` 400 with an `error_no` such as
  E2007). Repeating the same call gives the same answer; the pipeline decides what it means (e.g. a duplicate SEP of
  the same patient = already done).
- `EKlaimTransportError`: no business answer came back (connection refused, timeout, HTTP error status, an answer
  that does not decrypt or is not JSON). Whether the call took effect is unknown; only calls that are safe to
  repeat are retried.

The table of error numbers and their texts is a data file (`data/error_codes.csv`), loaded once.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
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
