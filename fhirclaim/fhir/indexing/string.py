"""String values, normalised for the default search (case- and accent-insensitive starts-with)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.search_params import SearchParameter

# The parts of HumanName and Address a `name` or `address` search looks at.
_PARTS = ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode",
          "country")


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for text in _strings(values):
        yield IndexEntry(param.name, "string", code=normalise(text)[:255], text=text[:255])


def _strings(values: list[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for part in _PARTS:
                item = value.get(part)
                items = item if isinstance(item, list) else [item]
                yield from (i for i in items if isinstance(i, str))
