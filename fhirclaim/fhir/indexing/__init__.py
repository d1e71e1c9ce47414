"""Search index values of a resource: one module per value kind, as the R4 search parameter types.

`index_resource` evaluates every search parameter of the resource's type and returns plain `IndexEntry`
values; the store writes them to its index tables. No SQL here. Each type's parameters are planned once (their
paths' first elements and their extractor), and a path whose first element the resource lacks is not walked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, NamedTuple

from fhirclaim.fhir.indexing import date, number, reference, string, token
from fhirclaim.fhir.paths import evaluate, root
from fhirclaim.fhir.search_params import SearchParameter, registry


class IndexEntry(NamedTuple):
    """One index value (a named tuple: a create makes and de-duplicates a dozen, a frozen dataclass costs 3× as
    much to make and hash, issue 17)."""

    param: str
    kind: str  # token | string | reference | date | number | quantity
    system: str | None = None
    code: str | None = None  # token code; string: normalised value; reference: target id
    text: str | None = None  # string: the exact value; reference: target type
    low: datetime | None = None
    high: datetime | None = None
    number: Decimal | None = None


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
    for param, paths, extract in _plan(resource["resourceType"]):
        values = [v for first, path in paths if first is None or first in present for v in evaluate(resource, path)]
        if values:
            entries.extend(IndexEntry(param.name, **fields)
                           for fields in extract(values, param=param, timezone=timezone))
    return list(dict.fromkeys(entries))  # the same value reached twice is indexed once


def entries_for(param: SearchParameter, resource: dict[str, Any], timezone: str) -> list[IndexEntry]:
    values = [v for path in param.paths for v in evaluate(resource, path)]
    extract = _EXTRACTORS[param.type]
    return [IndexEntry(param.name, **fields) for fields in extract(values, param=param, timezone=timezone)]


_Plan = tuple[tuple[SearchParameter, tuple[tuple[str | None, str], ...], Callable[..., Iterator[dict]]], ...]


@cache
def _plan(resource_type: str) -> _Plan:
    """A type's indexed parameters with a path, each with its paths' first elements and its extractor (issue 17)."""
    return tuple((param, tuple((root(path), path) for path in param.paths), _EXTRACTORS[param.type])
                 for param in registry().indexed(resource_type) if param.paths)


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
