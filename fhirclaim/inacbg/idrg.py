"""The iDRG grouper emulator: an iDRG coding in, E-Klaim 5.10's `response_idrg` out.

    grouper = IdrgGrouper()
    grouper.group(IdrgEpisode(diagnoses=("S72.0", "E11.9"), procedures=(("81.52", 1),), gender="2",
                              age_days=25000, inpatient=True))

The DRG list is the real one (data/idrg_drg.csv: 1363 codes with their national tariff; cost weight = tariff / NBR
8037060). A code reads MDC (2 digits) + DRG number (2: below 60 surgical, 60 and up medical) + subtype (1) + care
setting (1: 1 inpatient, 2 outpatient) + severity (1: 0 no CC, 1 mild, 2 moderate, 3 severe, 9 not split).
The logic is the emulator's own, not Kemenkes': deterministic and plausible, never clinically exact.

1. MDC 36 (ungroupable, data/idrg_ungroupable.csv) for an invalid principal, a principal that conflicts with the
   patient's sex or age, radiotherapy / chemotherapy codes without their session diagnosis (and back), an
   operating-room procedure on a body system unrelated to the principal's MDC, rehabilitation without procedures.
2. MDC from the principal (data/idrg_mdc.csv; the most specific code range wins); injuries of two or more body
   regions are MDC 31; 96+ ventilator hours MDC 10.
3. Surgical DRG when an operating-room procedure is coded (fhirclaim.inacbg procedure classes), medical otherwise:
   the procedure's DRG of data/idrg_procedure_drg.csv when it lies in the MDC, else among the MDC's DRGs of that
   kind and care setting one picked by a stable hash of the main code.
4. Severity from the secondary diagnoses (INA-CBG's severity_cc.csv: II moderate, III severe; others mild).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

from fhirclaim.inacbg.codeset import CodeMap, CodeSet
from fhirclaim.inacbg.grouper_tables import Tables, load_tables

NBR = 8037060  # the national base rate: tariff = cost weight x NBR
SCRIPT_VERSION = "1.0.32"
LOGIC_VERSION = "0.2.1806.202603311851"
UNGROUPABLE_MDC = "36"
SURGICAL_LIMIT = 60  # DRG numbers below are surgical (operating-room) DRGs
SEVERITY_NAMES = {"0": "No CC", "1": "Mild CC", "2": "Moderate CC", "3": "Severe CC", "9": ""}
NEONATE_DAYS = 28
LONG_VENTILATION_HOURS = 96
_DATA = resources.files("fhirclaim.inacbg").joinpath("data")


@dataclass(frozen=True)
class IdrgEpisode:
    """What the iDRG grouper reads: codes (principal first), procedures with multiplicity, patient and stay."""

    diagnoses: Sequence[str]
    procedures: Sequence[tuple[str, int]] = ()
    gender: str = ""
    age_days: int | None = None
    inpatient: bool = True
    ventilator_hours: int = 0
    topups: Sequence[str] = field(default=())


@dataclass(frozen=True)
class Drg:
    code: str
    description: str
    tariff: int

    @property
    def base(self) -> str:
        """MDC, DRG number, subtype and care setting: the DRG before its severity."""
        return self.code[:6]

    @property
    def cost_weight(self) -> Decimal:
        return (Decimal(self.tariff) / NBR).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Topup:
    code: str
    description: str
    type: str
    cost_weight: str
    drg_bases: frozenset[str]

    def as_answer(self) -> dict[str, str]:
        return {"code": self.code, "description": self.description, "type": self.type,
                "cost_weight": self.cost_weight}


class Ungroupable(Exception):
    """A rule of data/idrg_ungroupable.csv holds; `rule` names its row."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


@dataclass(frozen=True)
class IdrgTables:
    drgs: Mapping[str, Drg]
    mdc_names: Mapping[str, str]
    mdc_of: CodeMap[str]
    or_systems: Mapping[str, CodeSet]  # MDC → the operating-room procedures related to it (absent: any)
    ungroupable: Mapping[str, tuple[str, str]]  # rule → (drg code with x for the care setting, description)
    topups: Sequence[Topup]
    procedure_drg: CodeMap[str]  # operating-room procedure → the DRG base it leads to (same MDC only)
    inacbg: Tables


def _rows(name: str) -> list[dict[str, str]]:
    with _DATA.joinpath(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def load_idrg_tables() -> IdrgTables:
    mdcs = _rows("idrg_mdc.csv")
    return IdrgTables(
        drgs={row["drg_code"]: Drg(row["drg_code"], row["description"], int(row["tariff"]))
              for row in _rows("idrg_drg.csv")},
        mdc_names={row["mdc"]: row["description"] for row in mdcs},
        mdc_of=CodeMap((CodeSet.parse(row["diagnoses"]), row["mdc"]) for row in mdcs if row["diagnoses"]),
        or_systems={row["mdc"]: CodeSet.parse(row["or_procedures"]) for row in mdcs
                    if row["or_procedures"] and row["or_procedures"] != "*"},
        ungroupable={row["rule"]: (row["drg_code"], row["description"]) for row in _rows("idrg_ungroupable.csv")},
        topups=[Topup(row["code"], row["description"], row["type"], row["cost_weight"],
                      frozenset(row["drg_bases"].split("|"))) for row in _rows("idrg_topups.csv")],
        procedure_drg=CodeMap((CodeSet.parse(row["procedures"]), row["drg_base"])
                              for row in _rows("idrg_procedure_drg.csv")),
        inacbg=load_tables(),
    )


@cache
def im_codes() -> Mapping[tuple[str, str], str]:
    """(system, code) → display of the Indonesian Modification codes known (icd10im, icd9cmim)."""
    return {(row["system"], row["code"]): row["display"] for row in _rows("idrg_im_codes.csv")}


class IdrgGrouper:
    """Deterministic, table-driven iDRG grouping; one instance serves any number of claims (and threads)."""

    script_version = SCRIPT_VERSION
    logic_version = LOGIC_VERSION

    def __init__(self) -> None:
        self._tables = load_idrg_tables()

    def group(self, episode: IdrgEpisode) -> dict[str, Any]:
        """The `response_idrg` of E-Klaim 5.10 (without status_cd), numbers as strings."""
        try:
            drg = self._classify(episode)
        except Ungroupable as error:
            return self._ungroupable(error.rule, episode)
        options = [topup for topup in self._tables.topups if drg.base in topup.drg_bases]
        answer = self._answer(drg.code[:2], drg.code, drg.description, drg.cost_weight)
        chosen = [topup.as_answer() for topup in options if topup.code in episode.topups]
        if chosen:
            answer["topup"] = chosen
        if options:
            answer["topup_options"] = [topup.as_answer() for topup in options]
        return answer

    def _ungroupable(self, rule: str, episode: IdrgEpisode) -> dict[str, Any]:
        code, description = self._tables.ungroupable[rule]
        answer = self._answer(UNGROUPABLE_MDC, code.replace("x", "1" if episode.inpatient else "2"), description,
                              Decimal(0))
        answer["total_cost_weight"] = "0"  # as the manual's ungroupable example writes it
        return answer

    def _answer(self, mdc: str, code: str, description: str, weight: Decimal) -> dict[str, Any]:
        return {"mdc_number": mdc, "mdc_description": self._tables.mdc_names[mdc], "drg_code": code,
                "drg_description": description, "script_version": self.script_version,
                "logic_version": self.logic_version, "cost_weight": weight_text(weight),
                "sub_acute_weight": "0.00", "chronic_weight": "0.00", "total_cost_weight": weight_text(weight),
                "nbr": str(NBR)}

    # --- the logic ------------------------------------------------------------------------------------------

    def _classify(self, episode: IdrgEpisode) -> Drg:
        principal = self._check_principal(episode)
        self._check_therapy_codes(episode, principal)
        mdc = self._mdc(episode, principal)
        surgical = [code for code, _ in episode.procedures if self._is_or(code)]
        self._check_related(mdc, surgical)
        if mdc == "35" and not episode.procedures:
            raise Ungroupable("rehabilitation_without_procedure")
        main = surgical[0] if surgical else principal
        return self._pick(mdc, bool(surgical), episode, main)

    def _check_principal(self, episode: IdrgEpisode) -> str:
        if not episode.diagnoses:
            raise Ungroupable("invalid_principal")
        principal = episode.diagnoses[0]
        rule = self._tables.inacbg.principal_rule.get(principal) or ""
        if rule in ("never_principal", "not_claimable"):
            raise Ungroupable("invalid_principal")
        if (rule == "male_only" and episode.gender == "2") or (
                rule.startswith("female_only") and episode.gender == "1"):
            raise Ungroupable("sex_conflict")
        if rule == "neonatal_only" and episode.age_days is not None and episode.age_days > NEONATE_DAYS:
            raise Ungroupable("age_conflict")
        return principal

    def _check_therapy_codes(self, episode: IdrgEpisode, principal: str) -> None:
        codes = [code for code, _ in episode.procedures]
        radiotherapy = any(code.startswith("92.2") for code in codes)
        if principal.startswith("Z51.0") and not radiotherapy:
            raise Ungroupable("radiotherapy_without_procedure")
        if radiotherapy and not any(code.startswith("Z51.0") for code in episode.diagnoses):
            raise Ungroupable("radiotherapy_without_z510")
        if "99.25" in codes and not any(code.startswith("Z51.1") for code in episode.diagnoses):
            raise Ungroupable("chemotherapy_without_z511")

    def _mdc(self, episode: IdrgEpisode, principal: str) -> str:
        if episode.inpatient and episode.ventilator_hours >= LONG_VENTILATION_HOURS:
            return "10"
        if len(injury_regions(episode.diagnoses)) >= 2:
            return "31"
        mdc = self._tables.mdc_of.get(principal)
        if mdc is None:
            raise Ungroupable("invalid_principal")
        return mdc

    def _is_or(self, code: str) -> bool:
        found = self._tables.inacbg.procedure_class.get(code)
        return found is not None and found.kind == "major"

    def _check_related(self, mdc: str, surgical: Sequence[str]) -> None:
        related = self._tables.or_systems.get(mdc)
        if related is not None and any(code not in related for code in surgical):
            raise Ungroupable("unrelated_or")

    def _pick(self, mdc: str, surgical: bool, episode: IdrgEpisode, main: str) -> Drg:
        """The procedure's own DRG when the table names one in this MDC and setting, else a stable pick."""
        setting = "1" if episode.inpatient else "2"
        bases = self._bases(mdc, surgical, setting) or self._bases(mdc, not surgical, setting) or \
            self._bases(mdc, surgical, None) or self._bases(mdc, not surgical, None)
        named = self._tables.procedure_drg.get(main) if surgical else None
        base = named if named in bases else bases[stable_index(main, len(bases))]
        return self._with_severity(base, self._severity(episode))

    def _bases(self, mdc: str, surgical: bool, setting: str | None) -> list[str]:
        found = {code[:6] for code in self._tables.drgs
                 if code.startswith(mdc) and (int(code[2:4]) < SURGICAL_LIMIT) == surgical
                 and (setting is None or code[5] == setting)}
        return sorted(found)

    def _severity(self, episode: IdrgEpisode) -> int:
        secondary = episode.diagnoses[1:]
        if not secondary:
            return 0
        levels = {self._tables.inacbg.cc_level.get(code) for code in secondary}
        return 3 if "III" in levels else 2 if "II" in levels else 1

    def _with_severity(self, base: str, wanted: int) -> Drg:
        """The base's DRG at the wanted severity, else the highest one below it, else its first."""
        codes = sorted(code for code in self._tables.drgs if code[:6] == base)
        split = [code for code in codes if code[6] != "9" and int(code[6]) <= wanted]
        return self._tables.drgs[split[-1] if split else codes[0]]


def injury_regions(diagnoses: Sequence[str]) -> set[str]:
    """The body regions (S0 head … S9 ankle/foot, grouped) of the injury codes among the diagnoses."""
    regions = {"0": "head", "1": "neck", "2": "thorax", "3": "abdomen", "4": "arm", "5": "arm", "6": "arm",
               "7": "leg", "8": "leg", "9": "leg"}
    return {regions[code[1]] for code in diagnoses if code[:1] == "S" and code[1:2].isdigit()}


def stable_index(code: str, size: int) -> int:
    """The same index in 0..size-1 for the same code, on every machine and run."""
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % size


def weight_text(weight: Decimal) -> str:
    """A cost weight as E-Klaim writes it: "5.14", "0.3923", "0.00" (2 to 4 decimals)."""
    text = format(weight.quantize(Decimal("0.0001")), "f").rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"
