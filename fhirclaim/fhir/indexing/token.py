"""Token values: (system, code) from Identifier, Coding, CodeableConcept, ContactPoint, code and boolean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.search_params import SearchParameter


def entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        for system, code in _pairs(value):
            if code is not None and code != "":
                yield IndexEntry(param.name, "token", system, str(code)[:255])


def uri_entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        if isinstance(value, str):
            yield IndexEntry(param.name, "token", None, value[:255])


def _pairs(value: Any) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, bool):
        yield None, "true" if value else "false"
    elif isinstance(value, (str, int)):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:  # CodeableConcept
            for coding in value.get("coding") or []:
                yield coding.get("system"), coding.get("code")
        elif "code" in value:  # Coding (and Quantity-like codes)
            yield value.get("system"), value.get("code")
        elif "value" in value:  # Identifier, ContactPoint
            yield value.get("system"), value.get("value")
