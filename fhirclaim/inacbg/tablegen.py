"""Writes data/tariffs.csv from the CBG catalogue, the tariff basis and every real tariff point known.

    python -m fhirclaim.inacbg.tablegen            # rewrite data/tariffs.csv
    python -m fhirclaim.inacbg.tablegen --check    # exit 1 when data/tariffs.csv is not what the inputs give

The real Kemenkes tariff table is not public, so most figures are derived; the real points (tariff_anchors.csv)
are kept exactly and the derived ones are calibrated on them:

1. a real point is the tariff;
2. kelas 3 of a CBG with a real kelas 3 point for another severity in the same edition and kode_tarif:
   that point × severity_factor ratio (so M-1-04-III follows M-1-04-I/II);
3. else, when kode_tarif AP has real points for the CBG: the AP figure × kode_tarif_factor;
4. else, when another edition has real AP points for the CBG: that figure × the ratio of the base rates;
5. else base_rate × weight (cbg.csv; tariff_basis.json for sub-acute and chronic) × kode_tarif_factor ×
   severity_factor;
6. inpatient kelas 1 and 2: kelas 3 × the edition's factors (1.4 / 1.2 for 2016, 1.33 / 1.165 for 2023);
   outpatient groups and top-ups: the same figure in every kelas;
7. special CMG: the national tariff of special_cmg.csv for every kode_tarif except those of
   `no_special_cmg_tariff` (0).

Every derived figure is rounded half up to a multiple of 100 rupiah.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from fhirclaim.inacbg.grouper_tables import DATA, SEVERITIES, load_tables, read_json, rows
from fhirclaim.inacbg.tariffs import KELAS

INPATIENT_CASE_TYPES = {"1", "4", "6", "8"}
Anchor = tuple[str, str, str, str]


class _Builder:
    def __init__(self) -> None:
        tables = load_tables()
        self.basis = read_json("tariff_basis.json")
        self.step = Decimal(self.basis["rounding"])
        self.editions = {edition.name: edition for edition in tables.editions}
        self.kode_factor = {code: Decimal(str(value)) for code, value in self.basis["kode_tarif_factor"].items()}
        self.severity_factor = {level: Decimal(str(value)) for level, value in self.basis["severity_factor"].items()}
        self.base_rate = {name: Decimal(value) for name, value in self.basis["base_rate"].items()}
        self.weights = {row["cbg"]: Decimal(row["weight"]) for row in rows("cbg.csv")}
        for band in tables.adl_groups:
            self.weights[band.sub_acute_group.rsplit("-", 1)[0]] = Decimal(str(self.basis["sub_acute_weight"]))
            self.weights[band.chronic_group.rsplit("-", 1)[0]] = Decimal(str(self.basis["chronic_weight"]))
        self.adl_codes = {code for band in tables.adl_groups for code in (band.sub_acute_group, band.chronic_group)}
        self.anchors = _anchors()

    def round(self, amount: Decimal) -> int:
        return int((amount / self.step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * self.step)

    def groups(self) -> list[tuple[str, bool]]:
        """Every CBG code with whether it is an inpatient group (kelas factors apply)."""
        found = []
        for base in self.weights:
            if f"{base}-I" in self.adl_codes:
                found += [(f"{base}-{level}", False) for level in SEVERITIES]
            elif base.split("-")[1] in INPATIENT_CASE_TYPES:
                found += [(f"{base}-{level}", True) for level in SEVERITIES]
            else:
                found.append((f"{base}-0", False))
        return found

    def kelas_3(self, edition: str, kode: str, code: str) -> int:
        if (edition, kode, code, "kelas_3") in self.anchors:
            return self.anchors[(edition, kode, code, "kelas_3")]
        base, level = code.rsplit("-", 1)
        factor = self.severity_factor.get(level, Decimal(1))
        for sibling in SEVERITIES:
            anchor = self.anchors.get((edition, kode, f"{base}-{sibling}", "kelas_3"))
            if anchor is not None:
                return self.round(anchor * factor / self.severity_factor[sibling])
        if kode != "AP" and self._anchored(edition, "AP", base):
            return self.round(self.kelas_3(edition, "AP", code) * self.kode_factor[kode])
        for other in self.editions:
            if other != edition and self._anchored(other, "AP", base):
                ratio = self.base_rate[edition] / self.base_rate[other]
                return self.round(self.kelas_3(other, "AP", code) * ratio * self.kode_factor[kode])
        return self.round(self.base_rate[edition] * self.weights[base] * self.kode_factor[kode] * factor)

    def _anchored(self, edition: str, kode: str, base: str) -> bool:
        codes = {f"{base}-{level}" for level in (*SEVERITIES, "0")}
        return any(key[:2] == (edition, kode) and key[2] in codes and key[3] == "kelas_3" for key in self.anchors)

    def cbg_rows(self):
        for edition in self.editions:
            for kode in self.kode_factor:
                for code, inpatient in self.groups():
                    third = self.kelas_3(edition, kode, code)
                    for kelas in KELAS:
                        derived = third
                        if inpatient and kelas != "kelas_3":
                            derived = self.round(third * self.editions[edition].kelas_factor[kelas])
                        yield self._row(edition, kode, code, kelas, derived)

    def special_rows(self):
        no_tariff = set(self.basis["no_special_cmg_tariff"])
        for row in rows("special_cmg.csv"):
            for edition in row["editions"].split("|"):
                for kode in self.kode_factor:
                    national = 0 if kode in no_tariff else int(row["tariff"])
                    for kelas in KELAS:
                        yield self._row(edition, kode, row["group_code"], kelas, national)

    def _row(self, edition: str, kode: str, code: str, kelas: str, derived: int) -> list:
        anchor = self.anchors.get((edition, kode, code, kelas))
        return [edition, kode, code, kelas, derived if anchor is None else anchor,
                "derived" if anchor is None else "real"]


def _anchors() -> dict[Anchor, int]:
    found: dict[Anchor, int] = {}
    for row in rows("tariff_anchors.csv"):
        for kelas in KELAS if row["kelas"] == "all" else (row["kelas"],):
            found[(row["edition"], row["kode_tarif"], row["cbg_code"], kelas)] = int(row["tariff"])
    return found


def render() -> str:
    """The whole tariffs.csv text."""
    builder = _Builder()
    table = sorted([*builder.cbg_rows(), *builder.special_rows()], key=lambda row: row[:4])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["edition", "kode_tarif", "cbg_code", "kelas", "tariff", "basis"])
    writer.writerows(table)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    target = Path(str(DATA.joinpath("tariffs.csv")))
    text = render()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python -m fhirclaim.inacbg.tablegen", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10)) - 1} tariffs to {target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
