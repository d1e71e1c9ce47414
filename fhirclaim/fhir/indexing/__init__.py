"""Search index values of a resource: one module per value kind, as the R4 search parameter types.

`index_resource` evaluates every search parameter of the resource's type and returns plain `IndexEntry`
values; the store writes them to its index tables. No SQL here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhirclaim.fhir.indexing import date, number, reference, string, token
from fhirclaim.fhir.paths import evaluate
from fhirclaim.fhir.search_params import SearchParameter, registry


@dataclass(frozen=True)
class IndexEntry:
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
    entries: list[IndexEntry] = []
    for param in registry().indexed(resource["resourceType"]):
        entries.extend(entries_for(param, resource, timezone))
    return list(dict.fromkeys(entries))  # the same value reached twice is indexed once


def entries_for(param: SearchParameter, resource: dict[str, Any], timezone: str) -> list[IndexEntry]:
    values = [v for path in param.paths for v in evaluate(resource, path)]
    extract = _EXTRACTORS[param.type]
    return [IndexEntry(param.name, **fields) for fields in extract(values, param=param, timezone=timezone)]
