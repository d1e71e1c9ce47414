"""The emulator's data tables (files under data/), each loaded once."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DATA = resources.files("fhirclaim.eklaim.emulator").joinpath("data")


@dataclass(frozen=True)
class TariffClass:
    """A kode_tarif of the manual: the INA-CBG tariff class by hospital class and ownership."""

    kode_tarif: str
    description: str
    kelas_rs: str


@cache
def tariff_classes() -> Mapping[str, TariffClass]:
    with _DATA.joinpath("kode_tarif.csv").open(encoding="utf-8", newline="") as handle:
        return {row["kode_tarif"]: TariffClass(row["kode_tarif"], row["description"], row["kelas_rs"])
                for row in csv.DictReader(handle)}


@cache
def pull_claim_columns() -> tuple[str, ...]:
    """The column header of pull_claim's TXT export, in the manual's order."""
    lines = _DATA.joinpath("pull_claim_columns.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())


@cache
def parameters_510() -> Mapping[str, frozenset[str]]:
    """method → the `data` parameters it takes in E-Klaim 5.10 (`tarif_rs.<part>` for the bill's breakdown)."""
    found: dict[str, set[str]] = {}
    with _DATA.joinpath("parameters_510.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["method"], set()).add(row["parameter"])
    return {method: frozenset(names) for method, names in found.items()}
