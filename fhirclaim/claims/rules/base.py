"""What every precheck rule takes and gives: the `Case` it judges, the `Finding` it returns, and small readers the
rule families share (code prefixes, the tables under `claims/data/precheck/`, the claim's DPJP)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fhirclaim.claims import code_tables
from fhirclaim.claims.claim_context import ClaimContext, reference_of
from fhirclaim.claims.facts import ClaimFacts, Coded
from fhirclaim.claims.fhirvalues import has_coding
from fhirclaim.claims.rules.record import ClaimRecord


@dataclass(frozen=True)
class PastEpisode:
    """Another claim of the same patient (from this hospital's store), as the history rules need it."""

    nomor_sep: str
    jenis_rawat: str  # "1" inpatient (RITL), "2" outpatient (RJTL)
    admission: datetime  # aware
    discharge: datetime  # aware
    principal_diagnosis: str | None = None  # ICD-10, dotted
    claim_id: str | None = None  # the Claim resource id, to tell a resend of this claim from a second claim


@dataclass(frozen=True)
class Case:
    """One claim as the rules see it: E-Klaim's facts, the resolved resources, and the claim file when known
    (documents, results, charge items, prescriptions; None when the caller has not gathered it)."""

    facts: ClaimFacts
    ctx: ClaimContext
    record: ClaimRecord | None = None


@dataclass(frozen=True)
class Finding:
    """One rule firing: where the evidence is, the values the message is filled with, and the resources that
    prove it (references, shown after the message)."""

    expression: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()


@cache
def precheck_table(name: str) -> dict[str, Any]:
    """`fhirclaim/claims/data/precheck/<name>.json`, parsed once (each table notes its `_source`)."""
    path = resources.files("fhirclaim.claims").joinpath("data", "precheck", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def matches(code: str | None, prefixes: Iterable[str]) -> bool:
    """A code falls under one of `prefixes` (a category, a block letter, or an ICD-9-CM `74.` chapter)."""
    return bool(code) and any(code.startswith(prefix) for prefix in prefixes)  # type: ignore[union-attr]


def principal(facts: ClaimFacts) -> Coded | None:
    return facts.diagnoses[0] if facts.diagnoses else None


def secondaries(facts: ClaimFacts) -> tuple[Coded, ...]:
    return facts.diagnoses[1:]


def age_years(case: Case) -> int | None:
    facts = case.facts
    if not (facts.birth_date and facts.admission):
        return None
    born, at = facts.birth_date, facts.admission.date()
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def dpjp_reference(ctx: ClaimContext) -> str | None:
    """The DPJP's Practitioner reference, found as `facts.dpjp` finds the name: careTeam role, else the Encounter's
    attending participant."""
    mapping = code_tables.data_table("eklaim_mapping")
    for member in ctx.claim.get("careTeam") or []:
        if has_coding(member.get("role"), mapping["dpjp_roles"]["codings"]) and reference_of(member.get("provider")):
            return reference_of(member.get("provider"))
    attending = mapping["attending_participant_types"]["codings"]
    for participant in (ctx.encounter or {}).get("participant") or []:
        if any(has_coding(t, attending) for t in participant.get("type") or []):
            if reference_of(participant.get("individual")):
                return reference_of(participant.get("individual"))
    return None


def same_reference(a: str | None, b: str | None) -> bool:
    """Two references to one resource, relative or absolute."""
    if not (a and b):
        return False
    return a == b or a.rstrip("/").split("/")[-2:] == b.rstrip("/").split("/")[-2:]
