"""INA-CBG tariffs: edition × kode_tarif × CBG × kelas → rupiah.

The packaged table (data/tariffs.csv, written by tablegen.py) reproduces every real tariff point known and derives
the rest. A hospital holding the real Kemenkes table loads its own CSV with the same columns
(`edition,kode_tarif,cbg_code,kelas,tariff`; further columns are ignored); it replaces the packaged table whole.
`edition` names a row of tariff_editions.csv ("2016", "2023"), kelas is kelas_1 / kelas_2 / kelas_3, and tariffs
are whole rupiah. Outpatient groups and top-ups (special CMG, sub-acute, chronic) have one row per kelas with the
same figure, so that every lookup has the same key.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from fhirclaim.inacbg.grouper_tables import DATA, load_tables

COLUMNS = ("edition", "kode_tarif", "cbg_code", "kelas", "tariff")
KELAS = ("kelas_1", "kelas_2", "kelas_3")

Key = tuple[str, str, str, str]


class TariffTable:
    """Tariff lookups; build with `from_csv` or `packaged()`."""

    def __init__(self, prices: dict[Key, int], source: str):
        self._prices = prices
        self.source = source

    def __len__(self) -> int:
        return len(self._prices)

    def tariff(self, edition: str, kode_tarif: str, cbg_code: str, kelas: str) -> int | None:
        """Rupiah for one CBG (or top-up group) in one class, or None when the table has no such row."""
        return self._prices.get((edition, kode_tarif, cbg_code, kelas))

    @classmethod
    def packaged(cls) -> TariffTable:
        return _packaged()

    @classmethod
    def from_csv(cls, path: Path) -> TariffTable:
        """Read a tariff CSV; ValueError (naming the line) for a missing column, an unknown edition or kelas,
        a tariff that is not a whole non-negative number, or a key given twice."""
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return cls(_parse(csv.DictReader(handle), str(path)), str(path))


@cache
def _packaged() -> TariffTable:
    with DATA.joinpath("tariffs.csv").open(encoding="utf-8", newline="") as handle:
        return TariffTable(_parse(csv.DictReader(handle), "tariffs.csv"), "packaged")


def _parse(reader: csv.DictReader, source: str) -> dict[Key, int]:
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}")
    editions = {edition.name for edition in load_tables().editions}
    prices: dict[Key, int] = {}
    for row in reader:
        line = reader.line_num
        key = tuple((row[column] or "").strip() for column in COLUMNS[:4])
        if key[0] not in editions:
            raise ValueError(f"{source}:{line}: unknown edition {key[0]!r} (known: {', '.join(sorted(editions))})")
        if key[3] not in KELAS:
            raise ValueError(f"{source}:{line}: kelas must be one of {', '.join(KELAS)}, not {key[3]!r}")
        if key in prices:
            raise ValueError(f"{source}:{line}: {'/'.join(key)} given twice")
        text = (row["tariff"] or "").strip()
        if not text.isdigit():
            raise ValueError(f"{source}:{line}: tariff must be whole rupiah, not {text!r}")
        prices[key] = int(text)
    return prices
