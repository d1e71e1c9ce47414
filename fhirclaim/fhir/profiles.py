"""This server's profiles: JSON Schemas of the SATUSEHAT shapes, checked after the R4B models accept a resource.

Each `profiles/*.profile.json` holds `url`, `name`, `resourceType`, `description`, an optional `appliesWhen`
(a JSON Schema: a resource of that type matching it is held to the profile — so SATUSEHAT-shaped resources are,
and generic HL7 ones are not) and `schema` (JSON Schema draft 2020-12 of the shape). A profile also applies when
the resource's `meta.profile` names its url. `*.schema.json` files are shared definitions (and the non-FHIR
PurificationDecision) that profiles `$ref` by their `$id`.

Violations are reported all at once, each with a FHIRPath expression built from the error's JSON path. A schema may
annotate a subschema with `description` (the human text), `x-issue-code` (the FHIR issue type) and
`x-expression` (a path, relative to the failing element, to report instead of it).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

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

    def applies_to(self, resource: dict[str, Any]) -> bool:
        return self.applies_when is not None and self.applies_when.is_valid(resource)

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
        loaded[doc["url"]] = Profile(
            url=doc["url"], name=doc["name"], resource_type=doc["resourceType"],
            description=doc.get("description", ""), validator=_validator(schema),
            applies_when=_validator(applies) if applies is not None else None,
        )
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
    resource_type = resource.get("resourceType")
    named = set(_meta_profiles(resource))
    return [p for p in load_profiles().values()
            if p.resource_type == resource_type and (p.url in named or p.applies_to(resource))]


def check_profiles(resource: dict[str, Any]) -> list[Issue]:
    """Every profile violation of `resource` (an empty list when it conforms or no profile applies)."""
    issues = list(_meta_profile_issues(resource))
    root = str(resource.get("resourceType") or "Resource")
    for profile in profiles_for(resource):
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


def check_schema(name: str, document: dict[str, Any]) -> list[Issue]:
    """Every violation of `document` against `profiles/<name>.schema.json`, as issues with expressions."""
    issues: list[Issue] = []
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
