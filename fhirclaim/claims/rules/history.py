"""History rules over this hospital's own claims (seed 003): the same SEP on a second claim, and one stay split
into two claims. What only BPJS-K sees across hospitals stays in its purification (`fhirclaim/bpjs/purification`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.claims.rules.base import Case, Finding, PastEpisode


def duplicate_sep(case: Case, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    """Another Claim resource with this claim's SEP (a resend of the same Claim is an update, not a duplicate)."""
    facts, own = case.facts, case.ctx.claim.get("id")
    for episode in episodes:
        if facts.nomor_sep and episode.nomor_sep == facts.nomor_sep and episode.claim_id and episode.claim_id != own:
            yield Finding((facts.where["nomor_sep"],), {"sep": facts.nomor_sep, "other": episode.claim_id},
                          (f"Claim/{episode.claim_id}",))


def episode_split(case: Case, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    """An inpatient stay that starts the day another ends (or ends the day another starts): one episode of care
    billed as two claims. A transfer to another hospital is not in this hospital's history."""
    facts = case.facts
    if not (facts.inpatient and facts.admission and facts.discharge):
        return
    for episode in episodes:
        if episode.jenis_rawat != "1" or episode.nomor_sep == facts.nomor_sep:
            continue
        touching = episode.discharge.date() == facts.admission.date() or \
            episode.admission.date() == facts.discharge.date()
        if touching:
            yield Finding((facts.where["admission"], facts.where["discharge"]),
                          {"other_sep": episode.nomor_sep,
                           "other_period": f"{episode.admission:%Y-%m-%d} – {episode.discharge:%Y-%m-%d}"})
