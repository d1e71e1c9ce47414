"""Search index values of a resource: one module per value kind, as the R4 search parameter types.

`index_resource` evaluates every search parameter of the resource's type and returns plain `IndexEntry`
values; the store writes them to its index tables. No SQL here. Each type's parameters are planned once (their
paths' first elements and their extractor), and a path whose first element the resource lacks is not walked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from fhirclaim.fhir.indexing import date, number, reference, string, token
from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.paths import evaluate, root
from fhirclaim.fhir.search_params import SearchParameter, registry

__all__ = ["IndexEntry", "entries_for", "index_resource"]

_EXTRACTORS = {
    "token": token.entries,
    "uri": token.uri_entries,
    "string": string.entries,
    "reference": reference.entries,
    "date": date.entries,
    "number": number.number_entries,
    "quantity": number.quantity_entries,
}


def index_resource(resource: dict[str, Any], timezone: str = "UTC") -> list[IndexEntry]:
    present = _elements(resource)
    entries: list[IndexEntry] = []
    for param, roots, paths, extract in _plan(resource["resourceType"]):
        if roots is not None and roots.isdisjoint(present):
            continue  # most of a type's parameters: one set operation, not a list built empty (issue 17)
        values = [v for first, path in paths if first is None or first in present for v in evaluate(resource, path)]
        if values:
            entries.extend(extract(values, param=param, timezone=timezone))
    return list(dict.fromkeys(entries))  # the same value reached twice is indexed once


def entries_for(param: SearchParameter, resource: dict[str, Any], timezone: str) -> list[IndexEntry]:
    values = [v for path in param.paths for v in evaluate(resource, path)]
    return list(_EXTRACTORS[param.type](values, param=param, timezone=timezone))


_Plan = tuple[tuple[SearchParameter, frozenset[str] | None, tuple[tuple[str | None, str], ...],
                    Callable[..., Iterator[IndexEntry]]], ...]


@cache
def _plan(resource_type: str) -> _Plan:
    """A type's indexed parameters with a path, each with its paths' first elements (all of them, as a set: None
    when a path starts elsewhere, with `ofType`), its paths and its extractor (issue 17)."""
    plan = []
    for param in registry().indexed(resource_type):
        if param.paths:
            paths = tuple((root(path), path) for path in param.paths)
            roots = None if any(first is None for first, _ in paths) else frozenset(first for first, _ in paths)
            plan.append((param, roots, paths, _EXTRACTORS[param.type]))
    return tuple(plan)


def _elements(resource: dict[str, Any]) -> set[str]:
    """Every name a path's first step finds in `resource` (`paths._child`): its keys, and the stems of choice
    elements (`occurrenceDateTime` is found as `occurrence`)."""
    names = set(resource)
    for key in resource:
        names.update(_stems(key))
    return names


@lru_cache(maxsize=4096)
def _stems(key: str) -> tuple[str, ...]:
    return tuple(key[:i] for i in range(1, len(key)) if key[i].isupper())
