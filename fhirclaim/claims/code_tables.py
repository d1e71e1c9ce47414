"""The data tables the claim code reads: loaded once from JSON files, never written as Python literals.

Two homes: `fhirclaim/claims/data/` for internal tables (FHIR code → E-Klaim value, precheck parameters), and the
published conformance resources in `profiles/` (package `fhirclaim.profiles`): the CodeSystems a SIMRS sees in
this server's answers are the very files the code looks codes up in.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any


@cache
def data_table(name: str) -> dict[str, Any]:
    """`fhirclaim/claims/data/<name>.json`, parsed once."""
    text = resources.files("fhirclaim.claims").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _code_systems() -> dict[str, dict[str, Any]]:
    systems: dict[str, dict[str, Any]] = {}
    for entry in resources.files("fhirclaim.profiles").iterdir():
        if entry.name.startswith("CodeSystem-") and entry.name.endswith(".json"):
            resource = json.loads(entry.read_text(encoding="utf-8"))
            systems[resource["url"]] = resource
    return systems


def code_system(url: str) -> dict[str, Any]:
    """One of this server's published CodeSystems by canonical url (KeyError when it is not published)."""
    return _code_systems()[url]


@cache
def _concepts(url: str) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in code_system(url).get("concept", [])}


def concept(url: str, code: str) -> dict[str, Any] | None:
    """The concept `code` of CodeSystem `url`, or None when the code is not in it."""
    return _concepts(url).get(code)


def concept_property(found: dict[str, Any] | None, name: str) -> str | None:
    """The first value of property `name` on a concept (properties are typed: valueCode, valueString, ...)."""
    for prop in (found or {}).get("property", []):
        if prop.get("code") == name:
            for key, value in prop.items():
                if key.startswith("value"):
                    return value
    return None


def designation(found: dict[str, Any] | None, language: str) -> str | None:
    for item in (found or {}).get("designation", []):
        if item.get("language") == language:
            return item.get("value")
    return None
