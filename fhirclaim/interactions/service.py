"""The FHIR interactions, one small method each, on one unit of work.

This is the DAO layer between the HTTP handlers and the repository: it validates, resolves references, applies
conditional and patch semantics, and tells the listeners (the claim pipeline, webhooks, audit) about every
stored change inside the same transaction, so that a job or an outbox row exists exactly when the change does.
`FhirServices` makes one per unit of work with the server's hooks: a client's (`for_caller`) or the server's own
(`server`, whose changes are marked `server_authored`).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl

import jsonpatch

from fhirclaim.fhir import integers, profiles, validation
from fhirclaim.fhir.indexing.reference import is_absolute, localise
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.money import money_issues
from fhirclaim.fhir.outcome import FhirError, Issue, error
from fhirclaim.fhir.search_request import SearchRequest, parse_search
from fhirclaim.store.lookups import Found, lookup
from fhirclaim.store.repository import HistoryPage, SearchResult, StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_TRANSACTION_ONLY = ("urn:uuid:", "urn:oid:")  # references that name a transaction Bundle's entry
PROCESSED_BUNDLE_TYPES = ("transaction", "batch")  # posted to the base to be processed, never stored as such


@dataclass(frozen=True)
class ResourceChange:
    """One stored change, as the listeners hear it.

    `server_authored` is the writing FhirService's own flag, carried by each change rather than set on the unit of
    work: a transaction may hold the server's writes and a client's, and the store below knows nothing of who
    writes. Listeners that must not react to the server's own writes (the pipeline trigger, disclosure) read it;
    `author` is the audit text only, compared nowhere."""

    interaction: str  # create | update | patch | delete
    before: StoredResource | None
    after: StoredResource
    author: str | None
    server_authored: bool = False
    # created under an id this server generated for it just now: nothing stored can refer to it yet
    fresh: bool = False
    # What the write's reference check found, by (type, id): each as `find` in the change's tenant partition
    # (`SYSTEM.within(after.tenant)`) answers it, so a listener need not read it again in this transaction. Only
    # filled where the writer's scope sees exactly that partition and the shared rows (a hospital writing its own),
    # and only with the types some listener reads (its `reads_referenced`).
    referenced: Mapping[tuple[str, str], StoredResource] = field(default_factory=dict)


class ResourceListener(Protocol):
    """Told of every stored change, inside the writing transaction (enqueue jobs, outbox rows, audit). A listener
    that reads resources of `ResourceChange.referenced` names their types in a `reads_referenced` frozenset: the
    reference check reads the content of those types only (issue 17).

    A listener may also have `written(changes, uow)`: told once the write's changes are all written, with all of
    them — a single write's at once, after `resource_changed`; those of a `FhirService.writing_together` block (a
    transaction Bundle's entries, a pipeline step's writes) when it ends, so what it asks of the store about them
    is asked once, and what it derives from them is written once (issue 17)."""

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None: ...


class ResourceInterceptor(Protocol):
    """Sees a valid resource before it is stored and returns what to store (e.g. moves a secret elsewhere)."""

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]: ...


@dataclass
class SearchOptions:
    lenient: bool = False
    default_count: int = 20
    max_count: int = 500


@dataclass(frozen=True)
class CallerAccess:
    """What a caller's permissions make of its FhirService: `authorize` and `write_tenant` as on FhirService, and
    `interceptors` when the caller's differ from the server's list (None: the server's)."""

    authorize: Callable[[str, str, dict[str, Any] | None, StoredResource | None], None] | None = None
    write_tenant: Callable[[dict[str, Any], UnitOfWork], str | None] | None = None
    interceptors: Sequence[ResourceInterceptor] | None = None


def _no_access_rules(principal: Any, uow: UnitOfWork) -> CallerAccess:
    return CallerAccess()


@dataclass(frozen=True)
class FhirServices:
    """Makes the FhirService of a unit of work with the server's hooks (`listeners`, `interceptors`, in the order
    the composition root lists them), its timezone and page sizes.

    `server(uow, author)`: the server's own writes (the claim pipeline): no interceptors (they would strip the
    server's fields), not validated again, every change marked `server_authored`. `for_caller(uow, author, ...)`:
    anyone else's; with a `principal`, `access(principal, uow)` says what its role may do (this layer does not
    know roles: the composition root passes auth's policy in)."""

    listeners: Sequence[ResourceListener] = ()
    interceptors: Sequence[ResourceInterceptor] = ()
    timezone: str = "UTC"
    default_count: int = 20
    max_count: int = 500
    access: Callable[[Any, UnitOfWork], CallerAccess] = _no_access_rules

    @cached_property
    def referenced_content(self) -> frozenset[str]:
        """The types of `ResourceChange.referenced` that some listener reads (`reads_referenced`)."""
        return frozenset().union(*(getattr(listener, "reads_referenced", ()) for listener in self.listeners))

    def server(self, uow: UnitOfWork, author: str) -> FhirService:
        return FhirService(uow, author=author, listeners=self.listeners, interceptors=(), timezone=self.timezone,
                           search_options=self._options(False), server_authored=True,
                           referenced_content=self.referenced_content)

    def for_caller(self, uow: UnitOfWork, author: str | None, *, principal: Any = None, lenient: bool = False,
                   interceptors: Sequence[ResourceInterceptor] | None = None) -> FhirService:
        access = self.access(principal, uow) if principal is not None else CallerAccess()
        if interceptors is None:  # the caller's own (E-Klaim's), else the server's
            interceptors = self.interceptors if access.interceptors is None else access.interceptors
        return FhirService(uow, author=author, listeners=self.listeners, interceptors=interceptors,
                           timezone=self.timezone, search_options=self._options(lenient),
                           authorize=access.authorize, write_tenant=access.write_tenant,
                           referenced_content=self.referenced_content)

    def _options(self, lenient: bool) -> SearchOptions:
        return SearchOptions(lenient=lenient, default_count=self.default_count, max_count=self.max_count)


@dataclass
class FhirService:
    uow: UnitOfWork
    author: str | None = None
    listeners: Sequence[ResourceListener] = ()
    interceptors: Sequence[ResourceInterceptor] = ()
    timezone: str = "UTC"
    search_options: SearchOptions = field(default_factory=SearchOptions)
    # The caller's permissions: raises FhirError 403 for (interaction, type, new content, stored resource) it may
    # not do; every write passes it with the stored resource it would change.
    authorize: Callable[[str, str, dict[str, Any] | None, StoredResource | None], None] | None = None
    # Where a new resource lands, when not in the scope's tenant (BPJS-K's answers: the hospital's tenant).
    write_tenant: Callable[[dict[str, Any], UnitOfWork], str | None] | None = None
    defer_reference_checks: bool = False  # transactions check references once every entry is written
    # This server's FHIR bases (the request's, the configured public one): an absolute reference under one of them
    # is local, must resolve and is stored relative; any other absolute reference is another server's, stored as
    # sent and not resolved.
    base_urls: tuple[str, ...] = ()
    # The writer is this server (the claim pipeline): what it writes is built from stored, validated client content
    # and from typed models, so it is not validated again, nor are its references resolved again (issue 17).
    # Every client write is validated.
    server_authored: bool = False
    # The types of `ResourceChange.referenced` the listeners read (`FhirServices.referenced_content`): the reference
    # check reads no other content. None: every type's.
    referenced_content: frozenset[str] | None = None
    _deferred: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _written: list[ResourceChange] | None = None  # a `writing_together` block's changes so far

    @property
    def resources(self):
        return self.uow.resources

    # --- read ----------------------------------------------------------------------------------------------

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read these resources' current rows in one statement for the lookups this unit of work makes of them next
        (a transaction's entries by type and id: `ResourceRepository.prefetch`)."""
        self.resources.prefetch(keys)

    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        self._allowed("read", resource_type)
        _check_known_id(resource_type, resource_id)
        return self.resources.read(resource_type, resource_id)

    def vread(self, resource_type: str, resource_id: str, version: str) -> StoredResource:
        self._allowed("vread", resource_type)
        _check_known_id(resource_type, resource_id)
        number = integers.ascii_int(version)
        if number is None:
            raise FhirError.of(404, "not-found", f"{resource_type}/{resource_id} has no version {version[:32]!r}")
        return self.resources.vread(resource_type, resource_id, number)

    def search(self, resource_type: str, pairs: list[tuple[str, str]]) -> tuple[SearchRequest, SearchResult]:
        self._allowed("search", resource_type)
        request = self.parse_search(resource_type, pairs)
        return request, self.resources.search(request)

    def parse_search(self, resource_type: str, pairs: list[tuple[str, str]]) -> SearchRequest:
        options = self.search_options
        return parse_search(resource_type, pairs, lenient=options.lenient, default_count=options.default_count,
                            max_count=options.max_count, timezone=self.timezone, base_urls=self.base_urls)

    def history(self, resource_type: str | None, resource_id: str | None, *, since=None, count: int = 20,
                offset: int = 0) -> HistoryPage:
        if resource_type:
            self._allowed("history", resource_type)
        if resource_type and resource_id:
            _check_known_id(resource_type, resource_id)
        if resource_type and resource_id and self.resources.find(resource_type, resource_id) is None:
            raise FhirError.of(404, "not-found", f"{resource_type}/{resource_id} is not known")
        return self.resources.history(resource_type, resource_id, since=since, count=count, offset=offset)

    # --- write ---------------------------------------------------------------------------------------------

    def create(self, resource: dict[str, Any], *, expected_type: str | None = None,
               if_none_exist: str | None = None, resource_id: str | None = None) -> tuple[StoredResource, bool]:
        """(stored, created). With If-None-Exist, an existing single match is returned instead (created False)."""
        self._allowed("create", validation.check_resource_type(resource, expected_type), resource)
        resource_type = self._validated(resource, expected_type)
        _check_storable(resource_type, resource)
        if if_none_exist:
            existing = self._conditional_match(resource_type, if_none_exist)
            if existing is not None:
                return existing, False
        fresh = resource_id is None
        resource_id = resource_id or self.resources.new_id()  # POST ignores a client id: the server assigns it
        body = self._intercept(self._localise(resource_type, {**resource, "id": resource_id}))
        found = self._check_references(resource_type, body)
        with self.uow.held_back():  # its version and index rows go to PostgreSQL with its listeners' (issue 17)
            stored = self.resources.create(body, author=self.author, resource_id=resource_id, **self._tenant(body))
            self._notify("create", None, stored, fresh=fresh, referenced=self._reusable(found, stored))
        return stored, True

    def update(self, resource_type: str, resource_id: str, resource: dict[str, Any], *,
               if_match: int | None = None, interaction: str = "update",
               current: StoredResource | None = None) -> tuple[StoredResource, bool]:
        """(stored, created): PUT, including update-as-create with a client-assigned id. `current`: the server's
        own write only — the resource as its caller found it in this unit of work (the pipeline's Claim), not read
        again; the store writes over that version only while it is still the current one (else 412)."""
        _check_id(resource_id)
        resource_type = validation.check_resource_type(resource, resource_type)
        _check_type(resource_type)
        kind = "patch" if interaction == "patch" else "update"
        self._allowed(kind, resource_type, resource)  # before the lookup: a refusal does not depend on the id
        if current is not None and not self.server_authored:
            raise ValueError("only the server's own writes pass the stored version they found")
        before = current if current is not None else self.resources.find(resource_type, resource_id)
        self._allowed(kind, resource_type, resource, before)
        self._validated(resource, resource_type)
        _check_storable(resource_type, resource)
        body_id = resource.get("id")
        if body_id is None:
            raise FhirError.of(400, "required", "An update must carry the resource id in the body", "id")
        if body_id != resource_id:
            raise FhirError.of(400, "invalid", f"The body's id {body_id!r} is not the URL's id {resource_id!r}", "id")
        resource = self._intercept(self._localise(resource_type, resource))
        found = self._check_references(resource_type, resource)
        with self.uow.held_back():  # its version and index rows go to PostgreSQL with its listeners' (issue 17)
            stored, created = self.resources.update(resource, if_match=if_match, author=self.author,
                                                    method="PATCH" if interaction == "patch" else "PUT",
                                                    current=before, **self._tenant(resource))
            if before is None or before.version_id != stored.version_id:
                self._notify("create" if created and before is None else interaction, before, stored,
                             referenced=self._reusable(found, stored))
        return stored, created

    def conditional_update(self, resource_type: str, query: str, resource: dict[str, Any], *,
                           if_match: int | None = None) -> tuple[StoredResource, bool]:
        """`PUT Type?criteria`: update the one match, or create when there is none."""
        match = self._conditional_match(resource_type, query)
        if resource.get("id") is not None:
            _check_id(resource["id"])
        if match is None:
            if resource.get("id"):
                return self.update(resource_type, resource["id"], resource, if_match=if_match)
            return self.create(resource, expected_type=resource_type)
        if resource.get("id") not in (None, match.id):
            raise FhirError.of(400, "invalid", f"The body's id {resource['id']!r} is not the matched {match.id!r}",
                               "id")
        return self.update(resource_type, match.id, {**resource, "id": match.id}, if_match=if_match)

    def patch(self, resource_type: str, resource_id: str, operations: Any, *,
              if_match: int | None = None) -> StoredResource:
        """JSON Patch (RFC 6902, an array) or JSON Merge Patch (RFC 7386, an object) on the current version,
        then the same checks as an update."""
        self._allowed("patch", resource_type)
        current = self.read(resource_type, resource_id)
        if if_match is not None and if_match != current.version_id:
            raise FhirError.of(412, "conflict", f"{resource_type}/{resource_id} is at version {current.version_id}, "
                                                f"not {if_match}")
        if isinstance(operations, dict):
            patched = apply_merge_patch(current.content, operations)
        else:
            patched = apply_json_patch(current.content, operations)
        if patched.get("resourceType") != resource_type or patched.get("id") != resource_id:
            raise FhirError.of(422, "business-rule", "A patch may not change resourceType or id")
        stored, _ = self.update(resource_type, resource_id, patched, if_match=current.version_id,
                                interaction="patch")
        return stored

    def delete(self, resource_type: str, resource_id: str) -> StoredResource:
        _check_type(resource_type)
        _check_known_id(resource_type, resource_id)
        self._allowed("delete", resource_type)
        before = self.resources.find(resource_type, resource_id)
        self._allowed("delete", resource_type, None, before)
        stored = self.resources.delete(resource_type, resource_id, author=self.author)
        if before is not None and not before.deleted:
            self._notify("delete", before, stored)
        return stored

    # --- validation ----------------------------------------------------------------------------------------

    def validate_or_raise(self, resource: dict[str, Any], expected_type: str | None) -> str:
        resource_type = validation.check_resource_type(resource, expected_type)
        structural = validation.model_issues(resource_type, resource)
        validation.raise_for_errors(structural, status=400)
        issues = (validation.binding_issues(resource_type, resource) + money_issues(resource)
                  + profiles.check_profiles(resource))
        validation.raise_for_errors(issues, status=422)
        return resource_type

    def _validated(self, resource: dict[str, Any], expected_type: str | None) -> str:
        """The resource's type, after validation unless the server itself wrote it."""
        if self.server_authored:
            return validation.check_resource_type(resource, expected_type)
        return self.validate_or_raise(resource, expected_type)

    def validate_only(self, resource: dict[str, Any], expected_type: str | None = None) -> list[Issue]:
        """$validate: every issue, references included, nothing written."""
        issues = validation.validate(resource, expected_type)
        if not any(i.is_error for i in issues):
            issues += self._reference_issues(resource["resourceType"], resource)[0]
        return issues

    # --- references ----------------------------------------------------------------------------------------

    def _check_references(self, resource_type: str, resource: dict[str, Any]) -> Found:
        """Raises 422 unless every local reference resolves; returns what the check found, where a listener may
        use it (`ResourceChange.referenced`)."""
        if resource_type == "Bundle":
            return Found({})  # a collection carries its own resources; its inner references are the signer's business
        if self.server_authored and not self.resources.scope.finds_as_within(self.resources.scope.tenant):
            # The server refers only to what the stored Claim it works on refers to, and to that Claim (issue 17):
            # each reference was resolved when the client wrote it. They are looked up again only where what is
            # found goes on to the listeners (`_reusable`: a hospital's own scope), which would read it anyway.
            return Found({})
        if self.defer_reference_checks:
            self._deferred.append((resource_type, resource))
            return Found({})
        issues, found = self._reference_issues(resource_type, resource, keep=True)
        if issues:
            raise FhirError(422, issues)
        return found

    def check_deferred_references(self) -> None:
        """The deferred checks of a transaction's entries, once all are written: every entry's targets in one
        statement (a SIMRS transaction of twenty entries: one, not twenty; issue 17), each entry's issues in order."""
        deferred, self._deferred = self._deferred, []
        gathered = [(kind, resource, *self._reference_targets(resource)) for kind, resource in deferred]
        existing = self.resources.existing(set().union(*(targets for *_, targets in gathered)))
        issues = [issue for resource_type, resource, references, targets in gathered
                  for issue in self._missing(resource_type, resource, references, targets, existing)]
        if issues:
            raise FhirError(422, issues)

    def _reference_issues(self, resource_type: str, resource: dict[str, Any], *,
                          keep: bool = False) -> tuple[list[Issue], Found]:
        """(issues, found): `keep` and a hospital's own scope, `find`'s answer for each reference, read in the
        check's one statement (`store/lookups.py`); else nothing."""
        references, targets = self._reference_targets(resource)
        found = Found({})
        if keep and self.resources.scope.finds_as_within(self.resources.scope.tenant):
            answer = lookup(self.resources, targets, content_of=self.referenced_content)
            existing, found = answer.existing, answer.found
        else:
            existing = self.resources.existing(targets)
        return self._missing(resource_type, resource, references, targets, existing), found

    def _reference_targets(self, resource: dict[str, Any]) -> tuple[list[str], set[tuple[str, str]]]:
        """The resource's references, gathered without their paths (which only an issue needs: they are walked
        again, with paths, when there is one; issue 17), and the (type, id) of the local ones."""
        references = _references(resource, [])
        return references, {target for reference in references
                            if (target := self._local_target(reference)) is not None}

    def _missing(self, resource_type: str, resource: dict[str, Any], references: list[str],
                 targets: set[tuple[str, str]], existing: set[tuple[str, str]]) -> list[Issue]:
        """The resource's reference issues, given which targets exist: none, the usual answer, without a walk."""
        if targets <= existing and not any(reference.startswith(_TRANSACTION_ONLY) for reference in references):
            return []
        return self._path_issues(resource_type, resource, existing)

    def _path_issues(self, resource_type: str, resource: dict[str, Any],
                     existing: set[tuple[str, str]]) -> list[Issue]:
        """Each reference's issue, with its FHIRPath: a `urn:` one outside a transaction, or a local one that is
        not in `existing`."""
        issues, missing = [], []
        for path, reference in iter_references(resource, resource_type):
            if reference.startswith(_TRANSACTION_ONLY):
                issues.append(error("invalid", f"{path}: {reference} is only meaningful inside a transaction Bundle",
                                    path))
            elif (target := self._local_target(reference)) is not None and target not in existing:
                missing.append(error("not-found", f"{path}: {reference} does not exist on this server", path))
        return issues + missing

    def _local_target(self, reference: str) -> tuple[str, str] | None:
        """(type, id) of a reference to a resource this server stores; None for a contained one (#id), another
        server's (absolute), or a type this server does not hold."""
        target = parse_reference(localise(reference, self.base_urls) or reference)
        return target if target is not None and target[0] in validation.STORED_TYPES else None

    def _reusable(self, found: Found, stored: StoredResource) -> Mapping[tuple[str, str], StoredResource]:
        """`found`, when this scope finds by type and id exactly what the system finds in the stored resource's
        tenant partition (`ResourceChange.referenced`), without the stored resource itself; else nothing."""
        if not found or not self.resources.scope.finds_as_within(stored.tenant):
            return {}
        return found.without((stored.resource_type, stored.id))

    def _localise(self, resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource with its absolute references to this server made relative (`http://host/fhir/Patient/1` →
        `Patient/1`): stored content then does not depend on the address a client used, and an absolute URL in
        it always names another server's resource. A Bundle is stored as sent: its signature covers its bytes."""
        if resource_type == "Bundle" or not self.base_urls:
            return resource
        return _localised(resource, self.base_urls)

    # --- helpers -------------------------------------------------------------------------------------------

    def _conditional_match(self, resource_type: str, query: str) -> StoredResource | None:
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        if not pairs:
            raise FhirError.of(400, "invalid", "A conditional request needs search criteria")
        request = parse_search(resource_type, pairs, timezone=self.timezone, base_urls=self.base_urls)
        matches = self.resources.search_all(request, limit=2)
        if len(matches) > 1:
            raise FhirError.of(412, "multiple-matches",
                               f"The criteria {query!r} match more than one {resource_type}")
        return matches[0] if matches else None

    def _allowed(self, interaction: str, resource_type: str, resource: dict[str, Any] | None = None,
                 current: StoredResource | None = None) -> None:
        """The caller's permission for the interaction, judged on the new content and on what is stored now."""
        _check_type(resource_type)
        if self.authorize is not None:
            self.authorize(interaction, resource_type, resource, current)

    def _tenant(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {"tenant": self.write_tenant(resource, self.uow)} if self.write_tenant else {}

    def _intercept(self, resource: dict[str, Any]) -> dict[str, Any]:
        for interceptor in self.interceptors:
            resource = interceptor.before_write(resource, self.uow)
        return resource

    def _notify(self, interaction: str, before: StoredResource | None, after: StoredResource, *,
                fresh: bool = False, referenced: Mapping[tuple[str, str], StoredResource] | None = None) -> None:
        change = ResourceChange(interaction, before, after, self.author, self.server_authored, fresh,
                                referenced or {})
        with self.uow.held_back():  # their rows (audit, job, worklist line) go to PostgreSQL together (issue 17)
            for listener in self.listeners:
                listener.resource_changed(change, self.uow)
                if self._written is None:  # a write on its own: `written` at once, in the listeners' order, so their
                    # rows still go with the next listener's read (the worklist line with the epoch's SELECT)
                    written = getattr(listener, "written", None)
                    if written is not None:
                        written([change], self.uow)
        if self._written is not None:
            self._written.append(change)

    @contextlib.contextmanager
    def writing_together(self) -> Iterator[None]:
        """A block of writes whose changes the listeners' `written` hears together, once, when it ends (a transaction
        Bundle's entries; the claim pipeline's writes of one step). The rows nobody reads back are held back through
        the whole block (`UnitOfWork.held_back`: on PostgreSQL they go with the next statement that needs an answer).
        A block that raises tells nothing: its write fails. A block inside a block rides the outer one. No write of
        a block may be undone by a savepoint inside it (a batch Bundle, whose entries are, writes each on its own)."""
        if self._written is not None:
            yield
            return
        self._written = []
        try:
            with self.uow.held_back():
                yield
                written, self._written = self._written, None
                if written:
                    self._tell_written(written)
        finally:
            self._written = None

    def _tell_written(self, changes: list[ResourceChange]) -> None:
        for listener in self.listeners:
            written = getattr(listener, "written", None)
            if written is not None:
                written(changes, self.uow)


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list) or not all(isinstance(o, dict) and "op" in o for o in operations):
        raise FhirError.of(400, "structure", "A JSON Patch body is an array of operations ({op, path, ...})")
    try:
        return jsonpatch.JsonPatch(operations).apply(copy.deepcopy(document))
    except jsonpatch.JsonPatchTestFailed as exc:
        raise FhirError.of(412, "conflict", f"JSON Patch test failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
        raise FhirError.of(422, "processing", f"JSON Patch cannot be applied: {exc}") from None


def apply_merge_patch(document: Any, patch: Any) -> Any:
    """RFC 7386 (what fhirpy and Aidbox clients send): objects merge, null removes, anything else replaces.
    Twelve lines of the RFC's own pseudo-code; no maintained library is worth a dependency for it."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(document) if isinstance(document, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def iter_references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every `Reference.reference` string in a resource, with its FHIRPath (contained resources skipped)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                yield f"{path}.reference", child
            elif key != "contained":
                yield from iter_references(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from iter_references(child, f"{path}[{index}]")


def _references(value: Any, found: list[str], *, contained: bool = False) -> list[str]:
    """`iter_references` without the paths: every `Reference.reference` string, in contained resources too only
    when asked."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                found.append(child)
            elif (contained or key != "contained") and isinstance(child, (dict, list)):
                _references(child, found, contained=contained)
    else:
        for child in value:
            if isinstance(child, (dict, list)):
                _references(child, found, contained=contained)
    return found


def _localised(value: Any, bases: tuple[str, ...]) -> Any:
    """`value` with its absolute references to `bases` made relative, as a copy; `value` itself when it has no
    absolute reference at all (usually: issue 17), as `_localise` without bases has always answered."""
    if any(is_absolute(reference) for reference in _references(value, [], contained=True)):
        return _localised_copy(value, bases)
    return value


def _localised_copy(value: Any, bases: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: ((localise(v, bases) or v) if k == "reference" and is_absolute(v) else _localised_copy(v, bases))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_localised_copy(v, bases) for v in value]
    return value


def _check_storable(resource_type: str, resource: dict[str, Any]) -> None:
    """A transaction or batch Bundle is a request to process, at the base; stored, it would silently do nothing."""
    kind = resource.get("type")
    if resource_type == "Bundle" and kind in PROCESSED_BUNDLE_TYPES:
        raise FhirError.of(400, "invalid", f"A Bundle of type {kind} is processed, not stored: POST it to the FHIR "
                                           f"base (POST /fhir), not to /fhir/Bundle", "Bundle.type")


def _check_type(resource_type: str) -> None:
    if resource_type not in validation.STORED_TYPES:
        raise FhirError.of(404, "not-supported", f"This server does not store {resource_type} resources")


def _check_known_id(resource_type: str, resource_id: str) -> None:
    """A URL's id that no resource can have (too long, a NUL, ...) names nothing here: 404, before any query."""
    if not _ID.fullmatch(resource_id):
        raise FhirError.of(404, "not-found", f"{resource_type}/{resource_id[:70]!r} is not known")


def _check_id(resource_id: Any) -> None:
    if not isinstance(resource_id, str) or not _ID.fullmatch(resource_id):
        raise FhirError.of(400, "value", f"{str(resource_id)[:70]!r} is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})",
                           "id")
