"""What comes on top of the CBG: sub-acute and chronic groups (ADL scores) and special CMG (top-up) options.

Sub-acute (SF…) and chronic (CF…) groups follow the ADL score band (adl_levels.csv). Special CMG options are the
rows of special_cmg.csv whose edition, eligible CBGs, diagnoses (principal only where the source says so) and
procedures all fit; stage 2 grants the chosen options that were offered and leaves out the others, since a choice
the claim does not qualify for cannot be paid.
"""

from __future__ import annotations

from fhirclaim.inacbg.casemix import Grouping
from fhirclaim.inacbg.episode import Episode
from fhirclaim.inacbg.grouper_tables import SPECIAL_TYPES, AdlBand, SpecialCmg, Tables


def adl_band(score: int, tables: Tables) -> AdlBand:
    return next(band for band in tables.adl_groups if band.min_score <= score <= band.max_score)


def adl_description(score: int, episode: Episode) -> str:
    """As E-Klaim words it: "ADL Score: 15 (61 hari)" — the score and the days of the stay."""
    return f"ADL Score: {score} ({episode.los} hari)"


def special_options(episode: Episode, grouping: Grouping, edition: str, tables: Tables) -> list[SpecialCmg]:
    """The special CMG options this grouping qualifies for, in code order (as E-Klaim lists them)."""
    candidates = tables.specials_by_cbg.get(grouping.code, []) + tables.specials_by_cbg.get(None, [])
    return sorted((special for special in candidates if _qualifies(special, episode, edition)),
                  key=lambda special: special.option_code)


def granted(options: list[SpecialCmg], chosen: tuple[str, ...]) -> list[SpecialCmg]:
    """The chosen options that were offered, in E-Klaim's type order (procedure, prosthesis, investigation, drug)."""
    picked = [option for option in options if option.option_code in chosen]
    return sorted(picked, key=lambda option: SPECIAL_TYPES.index(option.type))


def _qualifies(special: SpecialCmg, episode: Episode, edition: str) -> bool:
    """Edition, diagnoses and procedures (the eligible CBG was the index the candidate came from)."""
    if edition not in special.editions:
        return False
    diagnoses = (episode.principal,) if special.primary_only else (episode.principal, *episode.secondaries)
    if special.required_diags and not special.required_diags.contains_any(diagnoses):
        return False
    return not special.required_procs or special.required_procs.contains_any(episode.procedures)
