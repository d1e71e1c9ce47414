"""The search parameters this server indexes and accepts, loaded once from data/search-parameters.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TYPES = ("token", "string", "reference", "date", "number", "quantity", "uri")

# Parameters every type has. `_id` and `_lastUpdated` are columns of the resource table; the others are
# indexed like any parameter, from the resource's meta.
COMMON = {
    "_id": ("token", ()),
    "_lastUpdated": ("date", ()),
    "_profile": ("uri", ("Resource.meta.profile",)),
    "_tag": ("token", ("Resource.meta.tag",)),
    "_security": ("token", ("Resource.meta.security",)),
    "_source": ("uri", ("Resource.meta.source",)),
}


@dataclass(frozen=True)
class SearchParameter:
    resource_type: str
    name: str
    type: str
    paths: tuple[str, ...]
    targets: tuple[str, ...] | None  # reference parameters: the resource types they may point to
    url: str

    @property
    def is_column(self) -> bool:
        """`_id` and `_lastUpdated` are answered from the resource table, not the index."""
        return self.name in ("_id", "_lastUpdated")


class SearchParameterRegistry:
    def __init__(self, table: dict[str, dict[str, dict]]):
        self._by_type: dict[str, dict[str, SearchParameter]] = {}
        for resource_type, params in table.items():
            self._by_type[resource_type] = {
                name: SearchParameter(resource_type, name, spec["type"], tuple(spec["paths"]),
                                      tuple(spec["targets"]) if spec.get("targets") else None, spec["url"])
                for name, spec in params.items()
            }

    def get(self, resource_type: str, name: str) -> SearchParameter | None:
        if name in COMMON:
            kind, paths = COMMON[name]
            return SearchParameter(resource_type, name, kind, paths, None,
                                   f"http://hl7.org/fhir/SearchParameter/Resource-{name.lstrip('_')}")
        return self._by_type.get(resource_type, {}).get(name)

    def for_type(self, resource_type: str) -> list[SearchParameter]:
        """Every parameter of a type, the indexed common ones included (for indexing and the CapabilityStatement)."""
        common = [self.get(resource_type, name) for name in COMMON]
        return [p for p in common if p] + list(self._by_type.get(resource_type, {}).values())

    def indexed(self, resource_type: str) -> list[SearchParameter]:
        return [p for p in self.for_type(resource_type) if not p.is_column]


@lru_cache(maxsize=1)
def registry() -> SearchParameterRegistry:
    text = resources.files("fhirclaim.fhir").joinpath("data/search-parameters.json").read_text(encoding="utf-8")
    return SearchParameterRegistry(json.loads(text)["parameters"])
