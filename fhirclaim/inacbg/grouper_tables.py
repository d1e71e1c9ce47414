"""The grouper's tables (fhirclaim/inacbg/data/), parsed once per process.

Everything the grouper decides comes from these files; this module only turns rows into lookup structures. What
each file holds is listed in data/manifest.json; the tariffs live apart (tariffs.py) because a hospital may
replace them with its own.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources

from fhirclaim.inacbg.codeset import CodeMap, CodeSet

DATA = resources.files("fhirclaim.inacbg").joinpath("data")

SEVERITIES = ("I", "II", "III")
SPECIAL_TYPES = ("Special Procedure", "Special Prosthesis", "Special Investigation", "Special Drug")


@dataclass(frozen=True)
class ProcedureClass:
    kind: str  # major (operating room) | significant | minor
    inpatient_only: bool


@dataclass(frozen=True)
class CbgRule:
    key: str  # px: main procedure, dx: principal diagnosis, any: fallback
    codes: CodeSet
    cbg: str
    wildcard: bool  # the row holds for any CMG of the principal


@dataclass(frozen=True)
class Edition:
    name: str
    valid_from: date | None
    valid_to: date | None
    kelas_factor: dict[str, Decimal]  # "kelas_1" / "kelas_2" → factor on kelas 3

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class AdlBand:
    """ADL scores min..max group to these sub-acute and chronic groups. Both seed examples show SF-4-10-I / CF-4-10-I
    beside different acute CBGs (M-1-04-II, F-4-10-III), so the groups do not depend on the acute CBG."""

    min_score: int
    max_score: int
    sub_acute_group: str
    chronic_group: str


@dataclass(frozen=True)
class SpecialCmg:
    option_code: str
    type: str
    option_description: str
    group_code: str
    group_description: str
    editions: frozenset[str]
    eligible_cbgs: frozenset[str] | None  # None: any CBG
    required_diags: CodeSet
    primary_only: bool
    required_procs: CodeSet


@dataclass(frozen=True)
class Tables:
    version: int
    grouper_version: str
    cmg_names: dict[str, str]
    cmg_of: CodeMap[str]
    procedure_class: CodeMap[ProcedureClass]
    cbg_names: dict[str, str]
    cbg_rules: dict[tuple[str, str], list[CbgRule]]
    cc_level: CodeMap[str]
    los_levels: list[tuple[int, str]]
    adl_groups: list[AdlBand]
    principal_rule: CodeMap[str]
    procedure_requirements: list[tuple[CodeSet, CodeSet]]
    errors: dict[str, str]
    specials: list[SpecialCmg]
    editions: list[Edition]
    specials_by_cbg: dict[str | None, list[SpecialCmg]]  # eligible CBG code (None: any CBG) → rows, in file order

    def edition_for(self, discharged: date) -> Edition:
        for edition in self.editions:
            if edition.covers(discharged):
                return edition
        raise LookupError(f"no tariff edition covers {discharged}")  # the editions table leaves no gap


def rows(name: str) -> list[dict[str, str]]:
    with DATA.joinpath(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_json(name: str) -> dict:
    return json.loads(DATA.joinpath(name).read_text(encoding="utf-8"))


@cache
def load_tables() -> Tables:
    """Parse every table; cached, so all Grouper instances of a process share one copy."""
    manifest = read_json("manifest.json")
    return Tables(
        version=int(manifest["table_version"]),
        grouper_version=manifest["grouper_version"],
        cmg_names={row["cmg_code"]: row["description"] for row in rows("cmg.csv")},
        cmg_of=CodeMap((CodeSet.parse(row["codes"]), row["cmg"]) for row in rows("cmg_map.csv")),
        procedure_class=CodeMap(
            (CodeSet.parse(row["codes"]), ProcedureClass(row["class"], row["inpatient_only"] == "1"))
            for row in rows("procedure_classes.csv")),
        cbg_names={row["cbg"]: row["description"] for row in rows("cbg.csv")},
        cbg_rules=_cbg_rules(),
        cc_level=CodeMap((CodeSet.parse(row["codes"]), row["level"]) for row in rows("severity_cc.csv")),
        los_levels=sorted((int(row["min_los"]), row["level"]) for row in rows("severity_los.csv")),
        adl_groups=[AdlBand(int(row["min_score"]), int(row["max_score"]), row["sub_acute_group"],
                            row["chronic_group"]) for row in rows("adl_levels.csv")],
        principal_rule=CodeMap((CodeSet.parse(row["codes"]), row["rule"]) for row in rows("principal_edits.csv")),
        procedure_requirements=[(CodeSet.parse(row["codes"]), CodeSet.parse(row["codes_required"]))
                                for row in rows("procedure_edits.csv")],
        errors={row["code"]: row["description"] for row in rows("error_groups.csv")},
        specials=(specials := [_special(row) for row in rows("special_cmg.csv")]),
        editions=[_edition(row) for row in rows("tariff_editions.csv")],
        specials_by_cbg=_by_cbg(specials),
    )


def _cbg_rules() -> dict[tuple[str, str], list[CbgRule]]:
    found: dict[tuple[str, str], list[CbgRule]] = defaultdict(list)
    for row in rows("cbg_rules.csv"):
        found[(row["cmg"], row["case_type"])].append(
            CbgRule(row["key"], CodeSet.parse(row["codes"]), row["cbg"], wildcard=row["cmg"] == "*"))
    return dict(found)


def _special(row: dict[str, str]) -> SpecialCmg:
    eligible = row["eligible_cbgs"].strip()
    return SpecialCmg(
        option_code=row["option_code"], type=row["type"], option_description=row["option_description"],
        group_code=row["group_code"], group_description=row["group_description"],
        editions=frozenset(row["editions"].split("|")),
        eligible_cbgs=None if eligible == "*" else frozenset(eligible.split("|")),
        required_diags=CodeSet.parse(row["required_diags"]), primary_only=row["primary_only"] == "1",
        required_procs=CodeSet.parse(row["required_procs"]),
    )


def _by_cbg(specials: list[SpecialCmg]) -> dict[str | None, list[SpecialCmg]]:
    found: dict[str | None, list[SpecialCmg]] = defaultdict(list)
    for special in specials:
        for code in special.eligible_cbgs if special.eligible_cbgs is not None else (None,):
            found[code].append(special)
    return dict(found)


def _edition(row: dict[str, str]) -> Edition:
    def day(text: str) -> date | None:
        return date.fromisoformat(text) if text else None

    return Edition(row["edition"], day(row["valid_from"]), day(row["valid_to"]),
                   {"kelas_1": Decimal(row["kelas_1_factor"]), "kelas_2": Decimal(row["kelas_2_factor"])})
