"""E-Klaim 5.10's two codings of a claim: the iDRG one (ICD-10-IM / ICD-9-CM-IM) and the INA-CBG one (ICD-10 2010 /
ICD-9-CM), as `#`-joined strings and as the `expanded` lists the *_set / *_get / import methods answer.

- `"86.22+2#86.22"`: an iDRG procedure may repeat (setting: the same code again, another operation) and carry a
  multiplicity (`+n`, done n times in one operation). INA-CBG codes have neither.
- `#` alone clears a list; `""` (or an absent value) leaves it unchanged, as the manual says.
- A code the coding's edition does not know is not stored (the manual: "tidak akan tersimpan").
- IM codes (Indonesian Modification, fhirclaim/inacbg/data/idrg_im_codes.csv) are valid for iDRG only; in the
  INA-CBG coding they stay listed, with `validcode "0"` and E2101 "IM tidak berlaku", but the INA-CBG grouper never
  sees them (as idrg_to_inacbg_import shows in the manual and in real answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError
from fhirclaim.eklaim.emulator.config import CodeChecker
from fhirclaim.inacbg.idrg import im_codes

log = logging.getLogger(__name__)

CLEAR = "#"
MULTIPLICITY = "+"
DIAGNOSIS, PROCEDURE = "diagnosa", "procedure"
_IM_SYSTEM = {DIAGNOSIS: "icd10im", PROCEDURE: "icd9cmim"}
_OK = {"code": "200", "message": "Ok"}
_IM_NOT_VALID = {"code": "400", "error_no": "E2101", "message": "IM tidak berlaku"}


@dataclass(frozen=True)
class CodeItem:
    code: str
    multiplicity: int = 1

    def text(self) -> str:
        return f"{self.code}{MULTIPLICITY}{self.multiplicity}" if self.multiplicity > 1 else self.code


def items_of(stored: str) -> list[CodeItem]:
    """A stored coding string → its items (stored strings hold only well-formed items)."""
    found = []
    for part in stored.split(CLEAR) if stored else ():
        code, _, times = part.partition(MULTIPLICITY)
        found.append(CodeItem(code, int(times) if times else 1))
    return found


def joined(items: Sequence[CodeItem]) -> str:
    return CLEAR.join(item.text() for item in items)


class Codes:
    """Code checks and displays for both codings, over the ICD tables the emulator is built with."""

    def __init__(self, checker: CodeChecker) -> None:
        self._checker = checker

    def inacbg(self, kind: str, code: str) -> str | None:
        """The normalised code if the INA-CBG edition (ICD-10 2010 / ICD-9-CM) has it."""
        return self._checker.diagnosis(code) if kind == DIAGNOSIS else self._checker.procedure(code)

    def im(self, kind: str, code: str) -> str | None:
        """The code as the IM table writes it, if it is an IM-only code."""
        table = im_codes()
        for candidate in _spellings(kind, code):
            if (_IM_SYSTEM[kind], candidate) in table:
                return candidate
        return None

    def idrg(self, kind: str, code: str) -> str | None:
        """iDRG takes the ICD codes and the IM-only ones."""
        return self.inacbg(kind, code) or self.im(kind, code)

    def display(self, kind: str, code: str) -> str:
        im = im_codes().get((_IM_SYSTEM[kind], code))
        if im is not None:
            return im
        describe = self._checker.diagnosis_description if kind == DIAGNOSIS else self._checker.procedure_description
        return describe(code) or ""


def _spellings(kind: str, code: str) -> list[str]:
    bare = code.strip().upper().replace(".", "")
    split = 3 if kind == DIAGNOSIS else 2
    return [code.strip().upper(), f"{bare[:split]}.{bare[split:]}" if len(bare) > split else bare]


def parse_coding(value: Any, name: str, normalise: Callable[[str], str | None], *,
                 multiplicity: bool) -> list[CodeItem] | None:
    """A *_set value → the items to store, or None for "no change". A value that is not a string is refused
    (E2044 naming the parameter, as for any parameter the method cannot take)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WsError("E2044", message=f"Parameter tidak berlaku: {name}")
    if value.strip() == CLEAR:
        return []
    items = []
    for part in (piece.strip() for piece in value.split(CLEAR)):
        item = _item(part, normalise, multiplicity) if part else None
        if item is not None:
            items.append(item)
    return items


def _item(part: str, normalise: Callable[[str], str | None], multiplicity: bool) -> CodeItem | None:
    raw, separator, times = part.partition(MULTIPLICITY)
    code = normalise(raw.strip())
    count = int(times) if times.strip().isdigit() else 0
    if code is None or (separator and (not multiplicity or count < 1)):
        log.info("code %r is not valid here: not stored", part)
        return None
    return CodeItem(code, count if separator else 1)


def expanded(items: Sequence[CodeItem], kind: str, codes: Codes, *, inacbg: bool, multiplicity_key: str | None = None,
             positions: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The `expanded` list: one entry per item, numbered from 1 (or by `positions`), IM codes flagged for INA-CBG."""
    entries = []
    for index, item in enumerate(items):
        valid = not inacbg or codes.inacbg(kind, item.code) is not None
        entry: dict[str, Any] = {"code": item.code, "display": codes.display(kind, item.code)}
        if multiplicity_key:
            entry[multiplicity_key] = item.multiplicity
        entry.update({"no": str(positions[index] if positions else index + 1), "validcode": "1" if valid else "0",
                      "metadata": dict(_OK if valid else _IM_NOT_VALID)})
        entries.append(entry)
    return entries


def imported(items: Sequence[CodeItem], kind: str, codes: Codes) -> tuple[list[CodeItem], list[int]]:
    """iDRG items → INA-CBG items (no multiplicity, each code once, IM codes kept to be flagged) and their
    positions in the iDRG list (real answers number them so: "no": "4" after a repeated code)."""
    kept: list[CodeItem] = []
    positions: list[int] = []
    for position, item in enumerate(items, start=1):
        code = codes.inacbg(kind, item.code) or item.code
        if all(existing.code != code for existing in kept):
            kept.append(CodeItem(code))
            positions.append(position)
    return kept, positions


def groupable(items: Sequence[CodeItem], kind: str, codes: Codes) -> str:
    """The `#`-joined INA-CBG codes the INA-CBG grouper takes (IM codes left out)."""
    return CLEAR.join(item.code for item in items if codes.inacbg(kind, item.code) is not None)
