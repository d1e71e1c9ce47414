"""Reference values: (target type, target id) from `Type/id` or an absolute `.../Type/id` URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fhirclaim.fhir.search_params import SearchParameter

_TYPE_ID = re.compile(r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def parse(reference: str) -> tuple[str, str] | None:
    """`Patient/1`, `http://x/fhir/Patient/1`, `Patient/1/_history/2` → ("Patient", "1"); else None."""
    if not isinstance(reference, str) or reference.startswith(("#", "urn:")):
        return None
    match = _TYPE_ID.search(reference)
    return (match["type"], match["id"]) if match else None


def entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[dict]:
    for value in values:
        if not isinstance(value, dict):
            continue
        if "resourceType" in value and "id" in value:  # a resource reached by ofType(): it points to itself
            target = (value["resourceType"], value["id"])
        else:
            target = parse(value.get("reference", ""))
        if target and (param.targets is None or target[0] in param.targets):
            yield {"kind": "reference", "text": target[0], "code": target[1]}
