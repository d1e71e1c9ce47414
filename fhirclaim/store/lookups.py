"""Several resources looked up at once, with their content: what a write's references name (issue 17).

A write checks that its references resolve (`FhirService`), and one of its listeners (the worklist projection)
then reads two of the same resources again, the Claim's Patient and Encounter. `lookup` answers the reference check
in one statement, as `SqlResourceRepository.existing` does, and keeps each row it found, so that the listener's
reads of that write need no statement of their own. Only the rows of the types a listener reads carry their
content (`lookup`'s `content_of`): a Claim's other references (its Organization, Coverage, Practitioner, a
document that may hold an attachment) are checked without their bytes crossing the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.execution import execute
from fhirclaim.store.repository import (
    SqlResourceRepository,
    StoredResource,
    keys_params,
    keys_statement,
    stored_from_row,
)
from fhirclaim.store.scope import Scope


class Found(Mapping[tuple[str, str], StoredResource]):
    """(type, id) → what `find` answers for it, each parsed when first asked for (a write's references are many;
    a listener reads one or two of them)."""

    def __init__(self, rows: dict[tuple[str, str], Any]):
        self._rows = rows
        self._parsed: dict[tuple[str, str], StoredResource] = {}

    def __getitem__(self, key: tuple[str, str]) -> StoredResource:
        stored = self._parsed.get(key)
        if stored is None:
            stored = self._parsed[key] = stored_from_row(self._rows[key])
        return stored

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def without(self, key: tuple[str, str]) -> Found:
        return Found({k: row for k, row in self._rows.items() if k != key}) if key in self._rows else self


@dataclass(frozen=True)
class Lookup:
    """The answer for some (type, id): which are current, undeleted and visible (`existing`), and the resource
    `find` would answer for each of them (`found`; absent where `find` would refuse to choose among partitions,
    and for a type whose content was not asked for)."""

    existing: set[tuple[str, str]]
    found: Found


def lookup(resources: SqlResourceRepository, keys: Iterable[tuple[str, str]], *,
           content_of: frozenset[str] | None = None) -> Lookup:
    """`resources.existing(keys)` and, for each key, `resources.find` of it, in one statement; `content_of`: the
    types whose resources `found` answers (None: every type), the others' content is not read. Not for a scope
    that sees current rows only when disclosed (BPJS-K's `find` may answer an older version): use `existing`."""
    keys = set(keys)
    if not keys:
        return Lookup(set(), Found({}))
    ids, types, params = keys_params(keys)
    rows = execute(resources.session, keys_statement(resources.scope, ids, types, content_of), params).all()
    if len(rows) == len(keys):  # the usual case: one row each (a key not asked for would leave one asked unmet)
        by_key = {(row.resource_type, row.logical_id): row for row in rows}
        if by_key.keys() == keys:
            return Lookup({key for key, row in by_key.items() if not row.deleted},
                          Found(by_key if content_of is None else
                                {key: row for key, row in by_key.items() if key[0] in content_of}))
    grouped: dict[tuple[str, str], list] = {}
    for row in rows:
        if (key := (row.resource_type, row.logical_id)) in keys:
            grouped.setdefault(key, []).append(row)
    existing = {key for key, found in grouped.items() if any(not row.deleted for row in found)}
    return Lookup(existing, Found({key: chosen for key, found in grouped.items()
                                   if (content_of is None or key[0] in content_of)
                                   and (chosen := _resolved(resources.scope, found)) is not None}))


def _resolved(scope: Scope, rows: list):
    """`Scope.resolve` of the rows, or None where it refuses (several partitions, none of them home or shared)."""
    try:
        return scope.resolve(rows, "")
    except FhirError:
        return None

