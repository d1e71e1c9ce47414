"""This server's profiles: JSON Schemas of the SATUSEHAT shapes, checked after the R4B models accept a resource.

Each `profiles/*.profile.json` holds `url`, `name`, `resourceType`, `description`, an optional `appliesWhen`
(a JSON Schema: a resource of that type matching it is held to the profile — so SATUSEHAT-shaped resources are,
and generic HL7 ones are not) and `schema` (JSON Schema draft 2020-12 of the shape). A profile also applies when
the resource's `meta.profile` names its url. `*.schema.json` files are shared definitions (and the non-FHIR
PurificationDecision) that profiles `$ref` by their `$id`.

Violations are reported all at once, each with a FHIRPath expression built from the error's JSON path. A schema may
annotate a subschema with `description` (the human text), `x-issue-code` (the FHIR issue type) and
`x-expression` (a path, relative to the failing element, to report instead of it).

A resource is first checked by the schema compiled to Python (fastjsonschema, `_compiled`), which says only whether it
conforms, ~6× faster than jsonschema walks it (issue 17: a fifth of a SIMRS transaction's write). Only a resource it
refuses is walked by jsonschema, whose errors are the report: the compiled check decides nothing alone, and a schema
using a keyword it does not implement as draft 2020-12 means it gets no compiled check.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from fhirclaim.fhir.outcome import Issue

FHIRCLAIM_PROFILE_BASE = "https://fhirclaim.org/fhir/StructureDefinition/"

_CODES = {
    "required": "required", "minItems": "required", "contains": "required", "minContains": "required",
    "enum": "code-invalid", "const": "code-invalid",
    "type": "structure", "additionalProperties": "structure", "maxContains": "structure", "maxItems": "structure",
    "unevaluatedProperties": "structure",
}


@dataclass(frozen=True)
class Profile:
    url: str
    name: str
    resource_type: str
    description: str
    validator: Draft202012Validator
    applies_when: Draft202012Validator | None
    # True: the resource conforms; False: ask `validator` (`_compiled`)
    conforms: Callable[[Any], bool] = field(default=lambda _resource: False, compare=False, repr=False)

    # what of a resource `applies_when` can look at (`_reads`; None: anything), and its verdicts by what it saw
    applies_reads: _Reads | None = None
    _verdicts: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def applies_to(self, resource: dict[str, Any]) -> bool:
        """Whether `appliesWhen` holds the resource to this profile, decided once per distinct part of resources it
        reads (issue 17: a Claim's identifier and insurance systems, which repeat from one Claim to the next)."""
        if self.applies_when is None:
            return False
        if self.applies_reads is None:
            return self.applies_when.is_valid(resource)
        seen = _pruned(resource, self.applies_reads)
        # repr, not JSON: a third of the cost, and a Decimal has one too. It tells apart every two values a parsed
        # resource can hold (strings are quoted, True is not 1, Decimal('1.0') not 1.0), as the key must.
        key = repr(seen)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _MAX_VERDICTS:
                self._verdicts.clear()
            verdict = self._verdicts[key] = self.applies_when.is_valid(seen)
        return verdict

    def summary(self) -> dict[str, str]:
        return {"url": self.url, "name": self.name, "resourceType": self.resource_type,
                "description": self.description}


def _files(suffix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in sorted(resources.files("fhirclaim.profiles").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(suffix):
            yield entry.name, json.loads(entry.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    """Every `*.schema.json` and every profile schema, addressable by `$id`, for `$ref` between files."""
    documents = [doc for _, doc in _files(".schema.json")]
    documents += [doc["schema"] for _, doc in _files(".profile.json")]
    return Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in documents
    )


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    base = schema.get("$id", "")
    return Draft202012Validator(_inline(schema, _registry().resolver(base_uri=base)), registry=_registry())


def _inline(node: Any, resolver: Any) -> Any:  # a referencing Resolver (not exported by the package)
    """`node` with every `$ref` replaced by what it points at, resolved once at load time.

    Resolving references is a third of jsonschema's work per instance; the schemas are not recursive, so
    inlining them (as `allOf`, which reports errors from the same subschema `$ref` does) does it once.
    """
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver)
        siblings = {key: _inline(value, resolver) for key, value in node.items() if key != "$ref"}
        return {"allOf": [target], **siblings} if siblings else target
    return {key: value if key in ("const", "enum") else _inline(value, resolver) for key, value in node.items()}


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    """Every profile in `profiles/`, by url; loaded and compiled once."""
    loaded: dict[str, Profile] = {}
    for filename, doc in _files(".profile.json"):
        schema = doc["schema"]
        applies = doc.get("appliesWhen")
        if applies is not None:
            applies = {"$schema": schema.get("$schema"), "$id": schema["$id"] + "-applies-when", **applies}
        validator = _validator(schema)
        loaded[doc["url"]] = Profile(
            url=doc["url"], name=doc["name"], resource_type=doc["resourceType"],
            description=doc.get("description", ""), validator=validator,
            applies_when=_validator(applies) if applies is not None else None, conforms=_compiled(validator.schema),
        )
        if applies is not None:
            loaded[doc["url"]] = replace(loaded[doc["url"]],
                                         applies_reads=_reads(loaded[doc["url"]].applies_when.schema))
        if not doc["url"].startswith(FHIRCLAIM_PROFILE_BASE):
            raise ValueError(f"{filename}: profile url must start with {FHIRCLAIM_PROFILE_BASE}")
    return loaded


def list_profiles() -> list[dict[str, str]]:
    """url, name, resourceType and description of each profile (for the CapabilityStatement)."""
    return [profile.summary() for profile in load_profiles().values()]


def conformance_resources() -> list[dict[str, Any]]:
    """The FHIR conformance resources published in `profiles/` (the CodeSystems of `CodeSystem-*.json`), so the
    server can answer `GET CodeSystem/{id}` with the very definitions its answers use."""
    return [copy.deepcopy(doc) for name, doc in _files(".json") if name.startswith("CodeSystem-")]


def profiles_for(resource: dict[str, Any]) -> list[Profile]:
    """The profiles a resource is held to: those whose appliesWhen it matches, and those its meta.profile names."""
    named, resource_type = set(_meta_profiles(resource)), resource.get("resourceType")
    return [p for p in (_profiles_of_type(resource_type) if isinstance(resource_type, str) else ())
            if p.url in named or p.applies_to(resource)]


@lru_cache(maxsize=64)  # bounded: a resource type comes from the client
def _profiles_of_type(resource_type: str) -> tuple[Profile, ...]:
    return tuple(p for p in load_profiles().values() if p.resource_type == resource_type)


def check_profiles(resource: dict[str, Any]) -> list[Issue]:
    """Every profile violation of `resource` (an empty list when it conforms or no profile applies)."""
    issues = list(_meta_profile_issues(resource))
    root = str(resource.get("resourceType") or "Resource")
    for profile in profiles_for(resource):
        if profile.conforms(resource):
            continue
        for failure in profile.validator.iter_errors(resource):
            issues.extend(_issues(failure, root, profile.name))
    return list(dict.fromkeys(issues))


@cache
def _schema_validator(name: str) -> Draft202012Validator:
    for filename, doc in _files(".schema.json"):
        if filename == f"{name}.schema.json":
            return _validator(doc)
    raise KeyError(f"no profiles/{name}.schema.json")


def schema(name: str) -> dict[str, Any]:
    """A published JSON Schema of `profiles/<name>.schema.json` (e.g. PurificationDecision)."""
    return _schema_validator(name).schema  # type: ignore[return-value]


@cache
def _schema_conforms(name: str) -> Callable[[Any], bool]:
    return _compiled(_schema_validator(name).schema)


def check_schema(name: str, document: dict[str, Any]) -> list[Issue]:
    """Every violation of `document` against `profiles/<name>.schema.json`, as issues with expressions."""
    issues: list[Issue] = []
    if _schema_conforms(name)(document):
        return issues
    for failure in _schema_validator(name).iter_errors(document):
        issues.extend(_issues(failure, name, name))
    return list(dict.fromkeys(issues))


def _meta_profiles(resource: dict[str, Any]) -> list[str]:
    profiles = (resource.get("meta") or {}).get("profile") or []
    return [p.split("|")[0] for p in profiles if isinstance(p, str)]


def _meta_profile_issues(resource: dict[str, Any]) -> Iterator[Issue]:
    known, resource_type = load_profiles(), resource.get("resourceType")
    for index, url in enumerate(_meta_profiles(resource)):
        where = f"{resource_type}.meta.profile[{index}]"
        if url.startswith(FHIRCLAIM_PROFILE_BASE) and url not in known:
            yield Issue("error", "not-supported", f"Unknown profile {url}: this server defines "
                        f"{', '.join(sorted(known))}", (where,))
        elif url in known and known[url].resource_type != resource_type:
            yield Issue("error", "structure", f"Profile {url} is for {known[url].resource_type}, "
                        f"not {resource_type}", (where,))


def _issues(failure: ValidationError, root: str, profile: str) -> Iterable[Issue]:
    path = _expression(root, failure.absolute_path)
    annotated = failure.schema if isinstance(failure.schema, dict) else {}
    if failure.validator == "required" and isinstance(failure.instance, dict):
        for name in failure.validator_value:
            if name not in failure.instance:
                about = ((annotated.get("properties") or {}).get(name) or {}).get("description")
                text = f"{path}.{name} is required" + (f": {about}" if about else "")
                yield Issue("error", "required", f"Profile {profile}: {text}", (f"{path}.{name}",))
        return
    if annotated.get("x-expression"):
        path = _expression(path, annotated["x-expression"].replace("[", ".[").split("."))
    code = annotated.get("x-issue-code") or _CODES.get(str(failure.validator), "value")
    about = annotated.get("description") or failure.message
    shown = f" ({failure.instance!r})" if isinstance(failure.instance, (str, int, float, bool)) else ""
    yield Issue("error", code, f"Profile {profile}: {path}{shown} {about}", (path,))


def _expression(root: str, steps: Iterable[Any]) -> str:
    """FHIRPath of a JSON path: ('insurance', 0, 'identifier') → Claim.insurance[0].identifier."""
    text = root
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif isinstance(step, str) and step.startswith("[") and step.endswith("]"):
            text += step
        elif step:
            text += f".{step}"
    return text


# --- the compiled check ----------------------------------------------------------------------------------------

# The keywords fastjsonschema (as draft-07) implements as draft 2020-12 means them, or more strictly (a pattern's `$`
# ends the text only, not also before a final newline; a bool is no number, 2.0 is an integer and a Decimal a number,
# as in jsonschema: tests/profiles/test_profiles_compiled.py). By what each holds: one schema, schemas by property
# name, a list of schemas, a plain value; and annotations, which neither checks (`$defs` is reached only by a `$ref`,
# and `_inline` has replaced every `$ref`). A schema with any other keyword (`$ref`, `unevaluatedProperties`,
# `minContains`, `format`, `uniqueItems` …) is not compiled.
_ONE_SCHEMA = frozenset({"items", "contains", "not", "if", "then", "else", "additionalProperties", "propertyNames"})
_SCHEMAS_BY_NAME = frozenset({"properties", "patternProperties"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_PLAIN = frozenset({"type", "const", "enum", "required", "pattern", "minLength", "maxLength", "minItems", "maxItems",
                    "minimum", "maximum"})
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "examples"})
_DRAFT_07 = "http://json-schema.org/draft-07/schema#"
# what the compiled check may raise on a value it was not written for: then jsonschema decides, as without it
_UNDECIDED = (fastjsonschema.JsonSchemaValueException, TypeError, ValueError, ArithmeticError)


def _compiled(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether a value conforms to `schema` (inlined: no `$ref`), by fastjsonschema's compiled check: True only when
    it does; False when it does not, or when the schema uses a keyword outside `_compilable`'s (then every value is
    left to jsonschema). It never fills in defaults: the value is the client's resource."""
    if not _compilable(schema):
        return lambda _value: False
    check = fastjsonschema.compile({**schema, "$schema": _DRAFT_07}, use_default=False)

    def conforms(value: Any) -> bool:
        try:
            check(value)
        except _UNDECIDED:
            return False
        return True

    return conforms


def _compilable(schema: Any) -> bool:
    """Whether every keyword of `schema`, at every depth, is one fastjsonschema checks as jsonschema does."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        if keyword in _ONE_SCHEMA:
            known = _compilable(value)
        elif keyword in _SCHEMAS_BY_NAME:
            known = isinstance(value, dict) and all(_compilable(part) for part in value.values())
        elif keyword in _SCHEMA_LISTS:
            known = isinstance(value, list) and all(_compilable(part) for part in value)
        else:
            known = keyword in _PLAIN
        if not known:
            return False
    return True


# --- what an appliesWhen schema reads ----------------------------------------------------------------------------

_MAX_VERDICTS = 4096
# Keywords whose verdict depends only on the value's type, on the named properties (`properties`, `required`), on
# array items (`contains`, `items`) and on the array's length, or on nothing (annotations): with only these, a
# resource pruned to what they name has the same verdict. Any other keyword keeps the value it applies to whole.
_COMBINING = ("allOf", "anyOf", "oneOf")
_ITEMS = ("contains", "items")
_LOCAL = frozenset({"type", "pattern", "minItems", "maxItems", "minContains", "maxContains", "minLength", "maxLength",
                    "$schema", "$id", "$comment", "title", "description", "x-issue-code", "x-expression"})


@dataclass
class _Reads:
    """What a schema can look at in a value: these properties of an object, this of each item of an array (None: the
    whole value)."""

    properties: dict[str, _Reads | None] = field(default_factory=dict)
    items: _Reads | None | bool = False  # False: no item is looked at


_EMPTY = _Reads()


def _reads(schema: Any) -> _Reads | None:
    """What `schema` reads of the value it applies to; None when it may read anything (a keyword not listed)."""
    if not isinstance(schema, dict):
        return None if schema is not True else _Reads()
    reads = _Reads()
    for keyword, value in schema.items():
        if keyword in _LOCAL:
            continue
        if keyword in _COMBINING or keyword == "not":
            for part in value if keyword in _COMBINING else [value]:
                if _merge(reads, _reads(part)) is None:
                    return None
        elif keyword == "properties":
            for name, part in value.items():
                if _merge(reads, _Reads(properties={name: _reads(part)})) is None:
                    return None
        elif keyword == "required":
            for name in value:
                reads.properties.setdefault(name, _Reads())
        elif keyword in _ITEMS:
            if _merge(reads, _Reads(items=_reads(value))) is None:
                return None
        else:
            return None
    return reads


def _merge(into: _Reads, other: _Reads | None) -> _Reads | None:
    """`into` widened by `other` (None: the whole value)."""
    if other is None:
        return None
    for name, part in other.properties.items():
        if name not in into.properties:
            into.properties[name] = part
        elif into.properties[name] is not None:
            into.properties[name] = None if part is None else _merge(_copy(into.properties[name]), part)
    if other.items is not False:
        if into.items is False:
            into.items = other.items
        elif into.items is not None:
            into.items = None if other.items is None else _merge(_copy(into.items), other.items)
    return into


def _copy(reads: _Reads) -> _Reads:
    return _Reads(dict(reads.properties), reads.items)


def _pruned(value: Any, reads: _Reads | None) -> Any:
    """`value` with only what `reads` names: objects keep those properties, arrays keep every item (pruned),
    anything else is kept as is — types and array lengths do not change."""
    if reads is None:
        return value
    if isinstance(value, dict):
        return {name: _pruned(value[name], part) for name, part in reads.properties.items() if name in value}
    if isinstance(value, list):
        return [_pruned(item, _EMPTY if reads.items is False else reads.items) for item in value]
    return value
