"""Reference values: what a `Reference.reference` points at, on this server or on another one.

R4 allows three kinds of literal reference: relative (`Patient/1`: on this server), absolute (`http://x/fhir/
Patient/1`: on the server at that base) and internal (`#id`: a contained resource). The FHIR service stores an
absolute reference to one of its own bases relative (`localise`), so in stored content an absolute URL always
names another server's resource: it is kept as sent, never resolved here, and indexed under its whole URL
(`external_key`), so that it neither matches nor protects a local resource that happens to share its type and id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from fhirclaim.fhir.indexing.entry import IndexEntry
from fhirclaim.fhir.search_params import SearchParameter

_TYPE_ID = re.compile(r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?P<history>/_history/[^/]+)?$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# The usual reference, `Type/id` (a version after it or not): relative for certain (no ':' anywhere), parsed by one
# match instead of three (issue 17: a write parses each of its references twice, to check and to index them)
_RELATIVE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?")
_KEY_LENGTH = 64  # the index's target_id column


def is_absolute(reference: Any) -> bool:
    """`http://x/fhir/Patient/1` (any scheme://); not `Patient/1`, `#id` or `urn:uuid:...`."""
    return isinstance(reference, str) and bool(_ABSOLUTE.match(reference))


def parse(reference: Any) -> tuple[str, str] | None:
    """The local target of a relative reference: `Patient/1`, `Patient/1/_history/2` → ("Patient", "1"); None for
    contained (#id), urn: and absolute references (another server's, once the service has localised its own)."""
    if not isinstance(reference, str):
        return None
    if match := _RELATIVE.fullmatch(reference):
        return match["type"], match["id"]
    if reference.startswith(("#", "urn:")) or is_absolute(reference):
        return None
    return named(reference)


def named(reference: str) -> tuple[str, str] | None:
    """The `Type/id` a reference ends with, relative or absolute: `http://x/fhir/Patient/1` → ("Patient", "1")."""
    match = _TYPE_ID.search(reference) if isinstance(reference, str) else None
    return (match["type"], match["id"]) if match else None


def localise(reference: str, bases: Iterable[str]) -> str | None:
    """The relative form of an absolute reference to one of `bases` (this server's FHIR bases), else None.

    `http://host/fhir/Patient/1` under the base `http://host/fhir` → `Patient/1`. The scheme is not compared (a
    proxy may end TLS), host names are case-insensitive and a default port is the same as none."""
    if not is_absolute(reference):
        return None
    ref = urlsplit(reference)
    if ref.query or ref.fragment:
        return None
    for base in bases:
        own = urlsplit(base.rstrip("/"))
        prefix = own.path.rstrip("/") + "/"
        if _host(ref.netloc) == _host(own.netloc) and ref.path.startswith(prefix):
            relative = ref.path[len(prefix):]
            return relative if _TYPE_ID.fullmatch(relative) else None
    return None


def _host(netloc: str) -> str:
    host = netloc.lower().rsplit("@", 1)[-1]
    return host.removesuffix(":80").removesuffix(":443")


def external_key(url: str) -> str:
    """The index key of an absolute reference to another server: the URL without a version (`/_history/n`), or a
    digest of it where that does not fit the index column. Either holds a ':', which no local id does."""
    match = _TYPE_ID.search(url)
    if match and match["history"]:
        url = url[: match.start("history")]
    if len(url) <= _KEY_LENGTH:
        return url
    return "sha256:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[: _KEY_LENGTH - len("sha256:")]


def entries(values: list[Any], *, param: SearchParameter, **_: Any) -> Iterator[IndexEntry]:
    for value in values:
        if not isinstance(value, dict):
            continue
        if "resourceType" in value and "id" in value:  # a resource reached by ofType(): it points to itself
            target = (value["resourceType"], value["id"])
        else:
            reference = value.get("reference", "")
            target = parse(reference)
            if target is None and is_absolute(reference) and (external := named(reference)):
                target = (external[0], external_key(reference))  # another server's: its type, its whole URL
        if target and (param.targets is None or target[0] in param.targets):
            yield IndexEntry(param.name, "reference", code=target[1], text=target[0])
