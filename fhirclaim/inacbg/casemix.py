"""Case-mix classification of a checked episode: CMG → case type → CBG → severity (seed 004's code structure).

A CBG code reads CMG-casetype-number-severity, e.g. M-1-04-II:
- CMG: the body-system letter of the principal diagnosis (cmg_map.csv); every patient under 28 days old is a
  neonate (CMG P);
- case type: 1 inpatient procedure, 2 outpatient major procedure, 3 outpatient significant procedure, 4 inpatient
  without procedure, 5 outpatient without procedure (grouped in the ambulatory CMGs Q/QP), 6/7 obstetric in/out,
  8/9 neonatal in/out. "Procedure" means an operating-room procedure (procedure_classes.csv `major`), plus the
  `significant` ones for outpatients;
- number: the best row of cbg_rules.csv for (CMG, case type): a row for the main procedure beats one for the
  principal diagnosis beats the fallback; a row of the principal's own CMG beats a `*` row of equal kind;
  otherwise the most specific code set, then the earlier procedure. No row: X-0-00-X;
- severity: inpatients I/II/III from the secondary diagnoses (severity_cc.csv; a secondary of the principal's
  own category does not count) and the length of stay (severity_los.csv); outpatients 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fhirclaim.inacbg.codeset import Specificity
from fhirclaim.inacbg.episode import Episode, Ungroupable
from fhirclaim.inacbg.grouper_tables import SEVERITIES, CbgRule, Tables

SEVERITY_WORDS = {"I": "RINGAN", "II": "SEDANG", "III": "BERAT"}
_KEY_RANK = {"px": 2, "dx": 1, "any": 0}
_ANY_CODE: Specificity = (-1, 0)


@dataclass(frozen=True)
class Grouping:
    cmg: str  # CMG of the principal diagnosis (a `*` rule may give the CBG another letter)
    case_type: str
    base: str  # CMG-casetype-number, e.g. M-1-04
    severity: str  # I | II | III, or 0 for outpatients

    @property
    def code(self) -> str:
        return f"{self.base}-{self.severity}"

    def description(self, tables: Tables) -> str:
        name = tables.cbg_names[self.base]
        return f"{name} ({SEVERITY_WORDS[self.severity]})" if self.severity in SEVERITY_WORDS else name


def principal_cmg(episode: Episode, tables: Tables) -> str:
    if episode.neonate:
        return "P"
    cmg = tables.cmg_of.get(episode.principal)
    if not cmg:  # the editor stops codes without a CMG first; a gap in cmg_map.csv lands here
        raise Ungroupable("X-0-00-X")
    return cmg


def classify(episode: Episode, cmg: str, tables: Tables) -> Grouping:
    case_type, main_procedures = _case_type(episode, cmg, tables)
    base = _best_rule(episode, cmg, case_type, main_procedures, tables)
    severity = _severity(episode, tables) if episode.inpatient else "0"
    return Grouping(cmg, case_type, base, severity)


def _case_type(episode: Episode, cmg: str, tables: Tables) -> tuple[str, list[str]]:
    """The case type and the procedures that may name the CBG (majors; significant ones for type 3)."""
    kinds = {code: kind.kind for code in episode.procedures if (kind := tables.procedure_class.get(code))}
    majors = [code for code in episode.procedures if kinds.get(code) == "major"]
    significant = [code for code in episode.procedures if kinds.get(code) == "significant"]
    if cmg == "O":
        return ("6" if episode.inpatient else "7"), majors
    if cmg == "P":
        return ("8" if episode.inpatient else "9"), majors
    if episode.inpatient:
        return ("1" if majors else "4"), majors
    if majors:
        return "2", majors
    return ("3", significant) if significant else ("5", [])


def _best_rule(episode: Episode, cmg: str, case_type: str, procedures: list[str], tables: Tables) -> str:
    rules = tables.cbg_rules.get((cmg, case_type), []) + tables.cbg_rules.get(("*", case_type), [])
    best: tuple | None = None
    for index, rule in enumerate(rules):
        for rank in _ranks(rule, episode, procedures):
            candidate = (*rank, -index)
            if best is None or candidate > best[0]:
                best = (candidate, rule.cbg)
    if best is None:
        raise Ungroupable("X-0-00-X")
    return best[1]


def _ranks(rule: CbgRule, episode: Episode, procedures: list[str]) -> Iterator[tuple]:
    """Every way a rule fits the episode, as a sortable rank (higher is better)."""
    own = 0 if rule.wildcard else 1
    if rule.key == "px":
        for position, code in enumerate(procedures):
            if (hit := rule.codes.specificity(code)) is not None:
                yield (_KEY_RANK["px"], hit != _ANY_CODE, own, hit, -position)
    elif rule.key == "dx":
        if (hit := rule.codes.specificity(episode.principal)) is not None:
            yield (_KEY_RANK["dx"], True, own, hit, 0)
    else:
        yield (_KEY_RANK["any"], False, own, _ANY_CODE, 0)


def _severity(episode: Episode, tables: Tables) -> str:
    level = 0
    principal_category = episode.principal[:3]
    for code in episode.secondaries:
        found = tables.cc_level.get(code)
        if found and code[:3] != principal_category:
            level = max(level, SEVERITIES.index(found))
    for min_los, found in tables.los_levels:
        if episode.los >= min_los:
            level = max(level, SEVERITIES.index(found))
    return SEVERITIES[level]
