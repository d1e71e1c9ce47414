"""`paths.evaluate` walks with a plain loop (issue 17): the same values, in the same order, as the generator walk
it replaced (kept here as the reference), on arbitrary JSON and paths, choice elements and `ofType` included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhirclaim.fhir.paths import _steps, evaluate

NAMES = ["a", "b", "value", "valueString", "valueX", "occurrence", "occurrenceDateTime", "resourceType", "item"]


def reference_evaluate(resource: dict[str, Any], path: str) -> list[Any]:
    values: list[Any] = [resource]
    for step, of_type in _steps(path):
        values = list(_step(values, step, of_type))
        if not values:
            break
    return values


def _step(values: list[Any], step: str, of_type: str | None) -> Iterator[Any]:
    for value in values:
        if not isinstance(value, dict):
            continue
        if of_type is not None:
            if value.get("resourceType") == of_type:
                yield value
            continue
        yield from _flatten(_child(value, step))


def _child(value: dict[str, Any], name: str) -> Any:
    if name in value:
        return value[name]
    for key, child in value.items():
        if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
            return child
    return None


def _flatten(child: Any) -> Iterator[Any]:
    if child is None:
        return
    if isinstance(child, list):
        yield from (c for c in child if c is not None)
    else:
        yield child


leaves = st.none() | st.booleans() | st.integers() | st.sampled_from(["Claim", "Patient", "x"])
json_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(NAMES), inner, max_size=4), max_leaves=20)
steps = st.sampled_from(["a", "b", "value", "occurrence", "item", "ofType(Claim)", "ofType(Patient)"])


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), json_values, max_size=5), st.lists(steps, min_size=1, max_size=4))
def test_evaluate_reaches_what_the_generator_walk_reached(resource, path_steps):
    path = ".".join(["Claim", *path_steps])
    assert evaluate(resource, path) == reference_evaluate(resource, path)
