"""The small FHIRPath subset that search indexing needs.

Search parameter expressions are reduced (tools/build_search_parameters.py) to dotted paths such as
`Claim.careTeam.provider`. Evaluating one walks the JSON, flattening arrays, and resolves choice elements by
prefix (`ChargeItem.occurrence` finds `occurrenceDateTime` or `occurrencePeriod`). One function step is
understood: `ofType(X)`, which keeps resources of type X (used to find the Claim inside a claim Bundle).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_OF_TYPE = re.compile(r"^ofType\((\w+)\)$")


@lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[tuple[str, str | None], ...]:
    """The steps after the resource type, parsed once: (element name, None) or (step, type kept by ofType)."""
    steps = []
    for step in path.split(".")[1:]:  # the first step names the resource type
        of_type = _OF_TYPE.match(step)
        steps.append((step, of_type.group(1) if of_type else None))
    return tuple(steps)


def root(path: str) -> str | None:
    """The element `path` starts from in a resource (`Claim.careTeam.provider` → `careTeam`), None for an ofType
    step or the resource itself."""
    steps = _steps(path)
    return steps[0][0] if steps and steps[0][1] is None else None


def evaluate(resource: dict[str, Any], path: str) -> list[Any]:
    """Every value `path` reaches in `resource` (arrays flattened, choice types resolved). A plain loop, no
    generator per step: indexing evaluates a dozen paths per write (issue 17)."""
    values: list[Any] = [resource]
    for step, of_type in _steps(path):
        found: list[Any] = []
        for value in values:
            if not isinstance(value, dict):
                continue
            if of_type is not None:
                if value.get("resourceType") == of_type:
                    found.append(value)
                continue
            child = value[step] if step in value else _choice(value, step)
            if child is None:
                continue
            if isinstance(child, list):
                found.extend(c for c in child if c is not None)
            else:
                found.append(child)
        if not found:
            return found
        values = found
    return values


def _choice(value: dict[str, Any], name: str) -> Any:
    """A choice element: `occurrence` → `occurrenceDateTime`, `occurrencePeriod`, ... (the first present)."""
    for key, child in value.items():
        if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
            return child
    return None
