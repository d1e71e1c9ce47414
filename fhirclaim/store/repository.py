"""The resource repository: versions, soft delete, optimistic concurrency, the search index, tenant scope.

A logical id names a row within a partition (`store/scope.py`): every lookup by type and id resolves among the
rows the scope sees (home partition first, then shared), references resolve in the partition of the resource
that holds them (then shared), and integrity checks count only the referrers that resolve to the target.

`ResourceRepository` is the interface the FHIR service codes against; `SqlResourceRepository` implements it
on one SQLAlchemy session (SQLite or PostgreSQL: the SQL is the same). A repository lives inside one unit of
work (`Database.session(write=...)`), so a transaction Bundle is all-or-nothing by construction.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, bindparam, case, delete, func, insert, or_, select, true, union_all, update
from sqlalchemy.orm import Session, aliased

from fhirclaim.clock import naive_utc_now
from fhirclaim.fhir import dates, jsonio
from fhirclaim.fhir.indexing import IndexEntry, index_resource
from fhirclaim.fhir.outcome import FhirError, not_found
from fhirclaim.fhir.search_request import Include, SearchRequest
from fhirclaim.store import search_sql
from fhirclaim.store.audit_log import AUDIT_EVENT, AuditLog
from fhirclaim.store.audit_log import AUTHOR as AUDIT_AUTHOR
from fhirclaim.store.db import insert_for
from fhirclaim.store.execution import execute, pipelined
from fhirclaim.store.models import INDEX_TABLES, ReferenceIndex, ResourceRow, ResourceVersionRow, fit_numeric
from fhirclaim.store.scope import SHARED_PARTITION, SYSTEM, Scope, hospital_scope, partition_of
from fhirclaim.store.transactions import orm_session_of

_FROM_TEXT = object()  # `StoredResource.content` given as its `text`, to be parsed when first asked for


class _ParsedWhenAsked:
    """`StoredResource.content`, which a row from the database gives as its stored text (`_FROM_TEXT`): parsed the
    first time it is asked for. A read answers the stored bytes as they are (`api/http.render`) and never looks
    inside them: parsing them would cost it about as much as its query (issue 17)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, stored: StoredResource | None, owner: type | None = None) -> Any:
        if stored is None:
            raise AttributeError("content")  # as a dataclass field: required, no default
        content = stored.__dict__[self.slot]
        if content is _FROM_TEXT:
            content = stored.__dict__[self.slot] = _loads(stored.text)
        return content

    def __set__(self, stored: StoredResource, content: Any) -> None:
        stored.__dict__[self.slot] = content


@dataclass(frozen=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime  # naive UTC
    deleted: bool
    tenant: str | None
    content: dict[str, Any] | None = _ParsedWhenAsked()  # None for a deletion
    method: str = "PUT"
    author: str | None = None
    # `content` as stored (jsonio.dumps of it), when the repository has it: a read answers these bytes as they are
    text: str | None = field(default=None, compare=False, repr=False)

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def partition(self) -> str:
        return partition_of(self.tenant)


@dataclass
class SearchResult:
    matches: list[StoredResource]
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None


@dataclass
class HistoryPage:
    versions: list[StoredResource]
    total: int


class ResourceRepository(Protocol):
    def read(self, resource_type: str, resource_id: str) -> StoredResource: ...
    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource: ...
    def find(self, resource_type: str, resource_id: str) -> StoredResource | None: ...
    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None: ...
    def new_id(self) -> str: ...
    def create(self, resource: dict[str, Any], *, author: str | None = None,
               resource_id: str | None = None) -> StoredResource: ...
    def update(self, resource: dict[str, Any], *, if_match: int | None = None, author: str | None = None,
               method: str = "PUT", tenant: str | None | _Default = ...) -> tuple[StoredResource, bool]: ...
    def delete(self, resource_type: str, resource_id: str, *, author: str | None = None) -> StoredResource: ...
    def history(self, resource_type: str | None = None, resource_id: str | None = None, *,
                since: datetime | None = None, count: int = 20, offset: int = 0) -> HistoryPage: ...
    def search(self, request: SearchRequest) -> SearchResult: ...
    def referrers(self, resource_type: str, resource_id: str) -> list[str]: ...


class _Default:
    """Marks 'not given' where None (no tenant) is a meaningful value."""


_DEFAULT = _Default()
# Types whose ids stay unique across partitions: a Subscription's signing secret and its deliveries are keyed by its
# id alone (webhooks/). Another tenant's Subscription id reads as unknown (404), and a hospital cannot choose a
# Subscription's id (PUT-create is 405 whether or not the id is taken elsewhere): no answer tells it which ids exist.
GLOBAL_ID_TYPES = frozenset({"Subscription"})
_RESOURCE = ResourceRow.__table__  # Core statements on the hot paths skip the ORM's per-statement work
_NEW_IDS = "fhirclaim.new_ids"  # session.info key: ids this transaction generated and has not stored yet
_READ_AHEAD = "fhirclaim.read_ahead"  # session.info key: ((scope, type, id), rows) of `read_ahead`
_PREFETCHED = "fhirclaim.prefetched"  # session.info key: {(type, id): (scope, rows)} of `prefetch`

# The hot paths' statements, built once (issue 17): building a statement and its cache key costs more than SQLite
# takes to run it. Their values are bound at execution.
_INSERT_RESOURCE = insert(_RESOURCE).returning(_RESOURCE.c.pk)
_INSERT_VERSION = insert(ResourceVersionRow.__table__)
_INSERT_INDEX = {kind: insert(table.__table__) for kind, table in INDEX_TABLES.items()}
_DELETE_INDEX = tuple(delete(table.__table__).where(table.__table__.c.resource_pk == bindparam("pk"))
                      for table in INDEX_TABLES.values())
_UPDATE_VERSION = (update(_RESOURCE)
                   .where(_RESOURCE.c.pk == bindparam("row_pk"), _RESOURCE.c.version_id == bindparam("row_version"))
                   .values(version_id=bindparam("new_version"), last_updated=bindparam("new_updated"),
                           deleted=bindparam("new_deleted"), content=bindparam("new_content")))
_UPDATE_CURRENT = (update(_RESOURCE)
                   .where(_RESOURCE.c.partition == bindparam("row_partition"),
                          _RESOURCE.c.resource_type == bindparam("row_type"),
                          _RESOURCE.c.logical_id == bindparam("row_id"),
                          _RESOURCE.c.version_id == bindparam("row_version"))
                   .values(version_id=bindparam("new_version"), last_updated=bindparam("new_updated"),
                           deleted=bindparam("new_deleted"), content=bindparam("new_content"))
                   .returning(_RESOURCE.c.pk))
_VERSION_COLUMNS = tuple(ResourceVersionRow.__table__.c[name] for name in (
    "partition", "resource_type", "logical_id", "version_id", "last_updated", "deleted", "method", "author", "tenant",
    "content"))
_ROW_COLUMNS = tuple(_RESOURCE.c[name] for name in ("pk", "partition", "resource_type", "logical_id", "version_id",
                                                     "last_updated", "deleted", "tenant", "content"))


@functools.lru_cache(maxsize=1024)
def _row_statement(scope: Scope):
    """The rows of one type and id this scope sees (a scope is a small frozen value: one statement each)."""
    table = _RESOURCE.c
    return select(*_ROW_COLUMNS).where(table.resource_type == bindparam("resource_type"),
                                       table.logical_id == bindparam("logical_id"), scope.condition(table))


@functools.lru_cache(maxsize=1024)
def keys_statement(scope: Scope, ids: int, types: int, content_of: frozenset[str] | None = None):
    """`_row_statement` for some (type, id) keys at once (`keys_condition`): the current rows, deleted or not, that
    this scope sees; their content only for the types `content_of` names (all: None), else NULL. Shared by
    `prefetch` and `store.lookups.lookup`."""
    table = _RESOURCE.c
    columns = _ROW_COLUMNS
    if content_of is not None:
        columns = (*_ROW_COLUMNS[:-1], case((table.resource_type.in_(sorted(content_of)), table.content))
                   .label("content"))
    return select(*columns).where(keys_condition(table, ids, types), scope.condition(table))


def rows_read_ahead(tenant: ColumnElement) -> tuple[tuple, ColumnElement[bool]]:
    """The columns of `_row_statement` and the condition, for a statement that joins the resource table to the row
    of a tenant (`tenant`: its column) and reads ahead the rows of one type and id a hospital of that tenant sees,
    its own and shared ones (`hospital_scope(tenant)`), bound as `_row_statement` binds them. The reader hands them
    to `read_ahead` (store/clients.py: a read's token and its resource in one statement, issue 17)."""
    table = _RESOURCE.c
    return _ROW_COLUMNS, and_(table.resource_type == bindparam("resource_type"),
                              table.logical_id == bindparam("logical_id"),
                              or_(table.tenant == tenant, table.tenant.is_(None)))


def read_ahead(session: Session, tenant: str, resource_type: str, resource_id: str, rows: list) -> None:
    """Keep, for the next lookup of this type and id by `hospital_scope(tenant)` in this transaction, the rows a
    statement of `rows_read_ahead` found (each with at least `_ROW_COLUMNS`' names): that lookup then runs no
    statement. Any other lookup first drops them (`SqlResourceRepository._row`)."""
    session.info[_READ_AHEAD] = (hospital_scope(tenant), resource_type, resource_id), rows


def keys_condition(table, ids: int, types: int):
    """`table`'s rows among some (type, id) keys: `ids` ids bound as `id0`…, `types` types as `type0`… (values from
    `keys_params`). One statement per count rather than an expanding IN: it is compiled once and runs on the cursor
    (`store/execution.py`)."""
    return and_(table.logical_id.in_([bindparam(f"id{n}") for n in range(ids)]),
                table.resource_type.in_([bindparam(f"type{n}") for n in range(types)]))


def keys_params(keys: set[tuple[str, str]]) -> tuple[int, int, dict[str, str]]:
    """(number of ids, number of types, the bound values) of `keys_condition` for these (type, id) keys."""
    ids, types = sorted({k[1] for k in keys}), sorted({k[0] for k in keys})
    return len(ids), len(types), {**{f"id{n}": value for n, value in enumerate(ids)},
                                  **{f"type{n}": value for n, value in enumerate(types)}}


@functools.lru_cache(maxsize=1024)
def _existing_statement(scope: Scope, ids: int, types: int):
    """Which of some types and ids are current, undeleted and visible to this scope (`keys_condition`)."""
    table = _RESOURCE.c
    return select(table.resource_type, table.logical_id).where(
        keys_condition(table, ids, types), table.deleted.is_(False), scope.condition(table))


@functools.lru_cache(maxsize=2)
def _referrers_statement(shared: bool):
    """Current resources pointing at one target, in one partition (`partition`) or anywhere (a shared target)."""
    pointer = true() if shared else ResourceRow.partition == bindparam("partition")
    return (select(ResourceRow.resource_type, ResourceRow.logical_id).distinct()
            .join(ReferenceIndex, ReferenceIndex.resource_pk == ResourceRow.pk)
            .where(ReferenceIndex.target_type == bindparam("target_type"),
                   ReferenceIndex.target_id == bindparam("target_id"), pointer,
                   ResourceRow.deleted.is_(False), ResourceRow.resource_type != "AuditEvent")
            .where((ResourceRow.resource_type != bindparam("target_type"))
                   | (ResourceRow.logical_id != bindparam("target_id"))))


class _Current:
    """The current row as `find` answered it: what `update` and `_write_version` read of a row, without its primary
    key (the UPDATE finds the row by its key and version, and returns the key)."""

    pk = None

    def __init__(self, stored: StoredResource):
        self.stored = stored
        self.resource_type, self.logical_id, self.version_id = stored.resource_type, stored.id, stored.version_id
        self.last_updated, self.deleted, self.tenant = stored.last_updated, stored.deleted, stored.tenant
        self.partition, self.parsed = stored.partition, stored.content

    @property
    def content(self) -> str | None:
        """The stored text, as a row has it."""
        stored = self.stored
        return stored.text if stored.text is not None or stored.content is None else jsonio.dumps(stored.content)


def _loads(text: str | None) -> dict[str, Any] | None:
    return jsonio.loads_stored(text) if text else None


def _new_id() -> str:
    return str(uuid.uuid4())


class SqlResourceRepository:
    def __init__(self, session: Session, scope: Scope = SYSTEM, *, timezone_name: str = "UTC"):
        self.session = session
        self.scope = scope
        self.timezone = timezone_name
        self.audit = AuditLog(session, scope)  # AuditEvents: the append-only audit table (store/audit_log.py)

    def viewing(self, scope: Scope, *, timezone_name: str | None = None) -> SqlResourceRepository:
        """The same transaction seen through another scope (a hospital's, every hospital's), in this repository's
        time zone unless another is named."""
        return SqlResourceRepository(self.session, scope, timezone_name=timezone_name or self.timezone)

    def lock(self, resource_type: str, resource_id: str) -> None:
        """Serialise writers on every row with this type and id, whatever the scope, until commit: a row lock on
        PostgreSQL; SQLite's write transactions are serial already (BEGIN IMMEDIATE)."""
        self.session.execute(select(ResourceRow.pk).where(ResourceRow.resource_type == resource_type,
                                                          ResourceRow.logical_id == resource_id).with_for_update())

    # --- reads ---------------------------------------------------------------------------------------------

    def find(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version (deleted or not) if the scope may see it, else None. BPJS-K, which sees only what was
        disclosed to it, gets the newest version it was shown when a newer one was not (yet) published."""
        if resource_type == AUDIT_EVENT:
            row = self.audit.find(resource_id)
            return _audit_stored(row) if row is not None else None
        row = self._row(resource_type, resource_id)
        if row is not None:
            return stored_from_row(row)
        return self._latest_disclosed(resource_type, resource_id) if self.scope.current_disclosed else None

    def _latest_disclosed(self, resource_type: str, resource_id: str) -> StoredResource | None:
        rows = self.session.execute(
            select(ResourceVersionRow).where(
                ResourceVersionRow.resource_type == resource_type, ResourceVersionRow.logical_id == resource_id,
                self.scope.condition(ResourceVersionRow, versions=True))
            .order_by(ResourceVersionRow.version_id.desc())).scalars().all()
        newest: dict[str, ResourceVersionRow] = {}
        for row in rows:
            newest.setdefault(row.partition, row)
        chosen = self.scope.resolve(list(newest.values()), f"{resource_type}/{resource_id}")
        return _stored_version(chosen) if chosen is not None else None

    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        stored = self.find(resource_type, resource_id)
        if stored is None:
            raise not_found(resource_type, resource_id)
        if stored.deleted:
            raise FhirError.of(410, "deleted", f"{resource_type}/{resource_id} was deleted",
                               headers={"ETag": stored.etag})
        return stored

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource:
        current = self.find(resource_type, resource_id)
        if resource_type == AUDIT_EVENT:  # written once: its version 1 is all there is
            if current is None or version_id != 1:
                raise FhirError.of(404, "not-found", f"{resource_type}/{resource_id} has no version {version_id}")
            return current
        row = None if current is None else self.session.execute(
            select(ResourceVersionRow).where(
                ResourceVersionRow.partition == current.partition, ResourceVersionRow.resource_type == resource_type,
                ResourceVersionRow.logical_id == resource_id, ResourceVersionRow.version_id == version_id,
                self.scope.condition(ResourceVersionRow, versions=True))).scalar_one_or_none()
        if row is None:
            raise FhirError.of(404, "not-found", f"{resource_type}/{resource_id} has no version {version_id}")
        stored = _stored_version(row)
        if stored.deleted:
            raise FhirError.of(410, "deleted", f"Version {version_id} of {resource_type}/{resource_id} is a deletion")
        return stored

    def exists(self, resource_type: str, resource_id: str) -> bool:
        return (resource_type, resource_id) in self.existing([(resource_type, resource_id)])

    def existing(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (type, id) are current, undeleted and visible: one query for a resource's references."""
        keys = set(keys)
        audited = {i for t, i in keys if t == AUDIT_EVENT}
        if audited:
            keys -= {(AUDIT_EVENT, i) for i in audited}
            return {(AUDIT_EVENT, i) for i in self.audit.existing(audited)} | self.existing(keys)
        if not keys:
            return set()
        ids, types, params = keys_params(keys)
        rows = execute(self.session, _existing_statement(self.scope, ids, types), params)
        return {(t, i) for t, i in rows} & keys

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read the rows of these (type, id) keys that this scope sees, in one statement, for this transaction's
        next lookup of each (`_row`: a transaction's PUT, PATCH and DELETE entries each look their resource up
        first, one statement each before, issue 17). A key's rows serve one lookup; a write of it drops them."""
        new_ids = self.session.info.get(_NEW_IDS, ())
        keys = {key for key in keys if key[0] != AUDIT_EVENT and key[1] not in new_ids}
        if len(keys) < 2 or self.scope.current_disclosed:  # one key: its lookup is the one statement anyway
            return
        ids, types, params = keys_params(keys)
        found: dict[tuple[str, str], list] = {key: [] for key in keys}
        for row in execute(self.session, keys_statement(self.scope, ids, types), params):
            rows = found.get((row.resource_type, row.logical_id))  # the keys' ids × types: others come back too
            if rows is not None:
                rows.append(row)
        self.session.info.setdefault(_PREFETCHED, {}).update(
            {key: (self.scope, rows) for key, rows in found.items()})

    def referrers(self, resource_type: str, resource_id: str, partition: str | None = None) -> list[str]:
        """Current resources that point at this one (in its partition, or anywhere for a shared one: whoever can
        see them, integrity is global). Audit trails do not count: an AuditEvent names what it is about, deleted
        or not."""
        if partition is None:
            row = self._row(resource_type, resource_id)
            partition = row.partition if row is not None else self.scope.home
        shared = partition == SHARED_PARTITION
        rows = execute(self.session, _referrers_statement(shared), {"target_type": resource_type,
                                                                    "target_id": resource_id,
                                                                    **({} if shared else {"partition": partition})})
        return [f"{t}/{i}" for t, i in rows]

    # --- writes --------------------------------------------------------------------------------------------

    def create(self, resource: dict[str, Any], *, author: str | None = None, resource_id: str | None = None,
               tenant: str | None | _Default = _DEFAULT, index: list[IndexEntry] | None = None) -> StoredResource:
        """Store version 1; `tenant` defaults to the scope's (BPJS-K's answers land in the hospital's tenant).
        `index`: the resource's index entries, when the caller has them (`index_resource` of it otherwise)."""
        tenant = self.scope.tenant if isinstance(tenant, _Default) else tenant
        resource_type = resource["resourceType"]
        if resource_type == AUDIT_EVENT:
            return self._audit(resource, resource_id, tenant)
        new_ids = self.session.info.get(_NEW_IDS, ())
        generated = resource_id is None or resource_id in new_ids
        resource_id = resource_id or _new_id()
        now = naive_utc_now()
        content = _with_meta(resource, resource_id, 1, now)
        text = jsonio.dumps(content)
        self._forget(resource_type, resource_id)
        values = {"partition": partition_of(tenant), "resource_type": resource_type, "logical_id": resource_id,
                  "version_id": 1, "last_updated": now, "deleted": False, "tenant": tenant, "content": text}
        if generated:  # an id this server just generated (uuid4) is no one else's
            pk = execute(self.session, _INSERT_RESOURCE, values).scalar_one()
            if new_ids:
                new_ids.discard(resource_id)
        else:  # a duplicate id inserts nothing and leaves the caller's transaction as it was
            pk = execute(self.session, _insert_chosen(insert_for(self.session)), values).scalar_one_or_none()
            if pk is None:
                raise FhirError.of(409, "duplicate", f"{resource_type}/{resource_id} already exists")
        with pipelined(self.session):  # PostgreSQL: the version and index rows in one round trip (in a held-back
            self._insert_version(resource_type, resource_id, 1, now, "POST", author, text, tenant)  # block: later)
            self._write_index(pk, content, fresh=True, entries=index)
        return StoredResource(resource_type, resource_id, 1, now, False, tenant, content, "POST", author, text)

    def _audit(self, event: dict[str, Any], event_id: str | None, tenant: str | None) -> StoredResource:
        """An AuditEvent, into the audit table: one row, no version, no index rows (store/audit_log.py)."""
        event_id = event_id or _new_id()
        now = naive_utc_now()
        content, text = self.audit.append(event, event_id, tenant, now)
        return StoredResource(AUDIT_EVENT, event_id, 1, now, False, tenant, content, "POST", AUDIT_AUTHOR, text)

    def new_id(self) -> str:
        """A fresh id for a resource this transaction is about to create: until then it names nothing, so a
        lookup of it (an interceptor's, a listener's) needs no query, and its insert needs no savepoint."""
        resource_id = _new_id()
        self.session.info.setdefault(_NEW_IDS, set()).add(resource_id)
        return resource_id

    def update(self, resource: dict[str, Any], *, if_match: int | None = None, author: str | None = None,
               method: str = "PUT", tenant: str | None | _Default = _DEFAULT,
               current: StoredResource | None | _Default = _DEFAULT) -> tuple[StoredResource, bool]:
        """Write a new version; (stored, created). An unchanged resend writes nothing (HAPI's no-op update).
        `current`: what `find` of this resource answered in this transaction (None: nothing), so that it is not
        read again; the new version is written only if it is still the current one (else 412)."""
        resource_type, resource_id = resource["resourceType"], resource["id"]
        if resource_type == AUDIT_EVENT:
            raise _append_only(resource_type, resource_id)
        if isinstance(current, _Default) or self.scope.current_disclosed:  # BPJS-K's find may answer an older one
            row = self._row(resource_type, resource_id)  # another tenant's row is not seen: the id is free here
        else:
            row = _Current(current) if current is not None else None
        if row is None and resource_type in GLOBAL_ID_TYPES:
            if not self.scope.all_tenants:  # the same answer whether another tenant holds the id or nobody does
                raise FhirError.of(405, "not-supported", f"A {resource_type}'s id is assigned by the server: create "
                                                         f"it with POST /{resource_type}, not PUT")
            if self._held_elsewhere(resource_type, resource_id):
                raise not_found(resource_type, resource_id)
        if row is None:
            if if_match is not None:
                raise FhirError.of(412, "conflict", f"If-Match given but {resource_type}/{resource_id} does not exist")
            return self.create(resource, author=author, resource_id=resource_id, tenant=tenant), True
        if if_match is not None and if_match != row.version_id:
            raise _version_conflict(resource_type, resource_id, if_match, row.version_id)
        was_deleted = row.deleted
        if not was_deleted and _same_content(row.parsed if isinstance(row, _Current) else _loads(row.content),
                                             resource):
            return (row.stored if isinstance(row, _Current) else stored_from_row(row)), False
        return self._write_version(row, resource, method, author), was_deleted

    def delete(self, resource_type: str, resource_id: str, *, author: str | None = None) -> StoredResource:
        if resource_type == AUDIT_EVENT:
            raise _append_only(resource_type, resource_id)
        row = self._row(resource_type, resource_id)
        if row is None:
            raise not_found(resource_type, resource_id)
        if row.deleted:
            return stored_from_row(row)
        referrers = self.referrers(resource_type, resource_id, row.partition)
        if referrers:
            raise _referenced(resource_type, resource_id, referrers, self.existing(
                tuple(r.split("/", 1)) for r in referrers))
        return self._write_version(row, None, "DELETE", author)

    def _write_version(self, row, resource: dict[str, Any] | None, method: str,
                       author: str | None) -> StoredResource:
        resource_type, resource_id, tenant = row.resource_type, row.logical_id, row.tenant
        self._forget(resource_type, resource_id)
        now = max(naive_utc_now(), row.last_updated)
        version = row.version_id + 1
        content = _with_meta(resource, resource_id, version, now) if resource is not None else None
        text = jsonio.dumps(content) if content is not None else None
        values = {"row_version": row.version_id, "new_version": version, "new_updated": now,
                  "new_deleted": content is None, "new_content": text if text is not None else row.content}
        if row.pk is not None:
            pk = row.pk if execute(self.session, _UPDATE_VERSION, {"row_pk": row.pk, **values}).rowcount == 1 else None
        else:  # a row known by its key and version only (`update`'s `current`)
            pk = execute(self.session, _UPDATE_CURRENT, {"row_partition": row.partition, "row_type": resource_type,
                                                        "row_id": resource_id, **values}).scalar_one_or_none()
        if pk is None:  # another transaction wrote this resource since we read it
            raise _version_conflict(resource_type, resource_id, row.version_id, None)
        orm = orm_session_of(self.session)  # none made: nothing of this transaction was loaded as an ORM object
        loaded = orm.identity_map.get(orm.identity_key(ResourceRow, pk)) if orm is not None else None
        if loaded is not None:  # a search of this transaction loaded it: it must not show the old version
            orm.expire(loaded)
        with pipelined(self.session):  # PostgreSQL: the version row, the old index rows out and the new ones in,
            self._insert_version(resource_type, resource_id, version, now, method, author, text, tenant)  # in one
            self._write_index(pk, content)  # round trip, checked here
        return StoredResource(resource_type, resource_id, version, now, content is None, tenant, content, method,
                              author, text)

    def _insert_version(self, resource_type: str, resource_id: str, version: int, when: datetime, method: str,
                        author: str | None, text: str | None, tenant: str | None) -> None:
        execute(self.session, _INSERT_VERSION, {
            "partition": partition_of(tenant), "resource_type": resource_type, "logical_id": resource_id,
            "version_id": version, "last_updated": when, "deleted": text is None, "method": method, "author": author,
            "tenant": tenant, "content": text})

    def _write_index(self, resource_pk: int, content: dict[str, Any] | None, *, fresh: bool = False,
                     entries: list[IndexEntry] | None = None) -> None:
        if not fresh:  # a new resource has no index rows yet
            for statement in _DELETE_INDEX:
                execute(self.session, statement, {"pk": resource_pk})
        if content is None:
            return
        rows: dict[str, list[dict[str, Any]]] = {}
        for entry in index_resource(content, self.timezone) if entries is None else entries:
            rows.setdefault(entry.kind, []).append(_index_row(resource_pk, content["resourceType"], entry))
        for kind, values in rows.items():
            execute(self.session, _INSERT_INDEX[kind], values)

    def _held_elsewhere(self, resource_type: str, resource_id: str) -> bool:
        return self.session.execute(select(_RESOURCE.c.pk).where(
            _RESOURCE.c.resource_type == resource_type, _RESOURCE.c.logical_id == resource_id).limit(1)).first() \
            is not None

    def _forget(self, resource_type: str, resource_id: str) -> None:
        """Drop what `prefetch` read of a resource this transaction now writes."""
        prefetched = self.session.info.get(_PREFETCHED)
        if prefetched:
            prefetched.pop((resource_type, resource_id), None)

    def _row(self, resource_type: str, resource_id: str):
        """The row this scope means by type and id (`Scope.resolve`), or None when it sees none: a Core row with
        the resource table's columns."""
        info = self.session.info
        if resource_id in info.get(_NEW_IDS, ()):
            return None  # generated by this transaction and not stored yet
        ahead = info.pop(_READ_AHEAD, None) if info else None
        prefetched = info.get(_PREFETCHED) if info else None
        fetched = prefetched.pop((resource_type, resource_id), None) if prefetched else None
        if ahead is not None and ahead[0] == (self.scope, resource_type, resource_id):
            rows = [row for row in ahead[1] if row.pk is not None]  # an outer join's "none": a row of NULLs
        elif fetched is not None and fetched[0] == self.scope:
            rows = fetched[1]
        else:
            rows = execute(self.session, _row_statement(self.scope),
                           {"resource_type": resource_type, "logical_id": resource_id}).all()
        return self.scope.resolve(rows, f"{resource_type}/{resource_id}")

    # --- history -------------------------------------------------------------------------------------------

    def history(self, resource_type: str | None = None, resource_id: str | None = None, *,
                since: datetime | None = None, count: int = 20, offset: int = 0) -> HistoryPage:
        """Versions newest first: the version table's, and where the history may hold them, the AuditEvents of the
        audit table (each its own version 1)."""
        partition = None
        if resource_type and resource_id:
            current = self.find(resource_type, resource_id) if resource_type == AUDIT_EVENT else \
                self._row(resource_type, resource_id)
            if current is None:
                return HistoryPage([], 0)
            partition = current.partition
        parts = []
        if resource_type != AUDIT_EVENT:
            parts.append(self._versions(resource_type, resource_id, partition, since))
        if resource_type in (None, AUDIT_EVENT):
            parts.append(self.audit.versions(resource_id, partition, since))
        versions = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
        total = self.session.execute(select(func.count()).select_from(versions)).scalar_one()
        rows = self.session.execute(
            select(versions).order_by(versions.c.last_updated.desc(), versions.c.version_id.desc())
            .limit(count).offset(offset))
        return HistoryPage([_stored_version(r) for r in rows], total)

    def _versions(self, resource_type: str | None, resource_id: str | None, partition: str | None,
                  since: datetime | None):
        """The version table's rows of the history asked for that the scope sees (a query, to page or unite)."""
        table, query = ResourceVersionRow, select(*_VERSION_COLUMNS)
        if resource_type:
            query = query.where(table.resource_type == resource_type)
        if resource_type and resource_id:
            query = query.where(table.logical_id == resource_id, table.partition == partition)
        if since:
            query = query.where(table.last_updated >= since)
        return query.where(self.scope.condition(table, versions=True))

    # --- search --------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        """The matches of one page, what they include, and the total. The statements come built for the search's
        shape (`search_sql.statements`); this binds the request's values and runs them (Core rows, no ORM
        entities)."""
        if request.resource_type == AUDIT_EVENT:
            rows, total = self.audit.search(request)
            matches = [_audit_stored(r) for r in rows]
            return SearchResult(matches, self._included(matches, request), total)
        built = search_sql.statements(request, self.scope)
        total = None
        if request.total != "none" or request.summary_count:
            total = execute(self.session, built.count, built.values(request)).scalar_one()
        if request.summary_count or request.count == 0:
            return SearchResult([], [], total)
        matches = [stored_from_row(r) for r in execute(self.session, built.page, built.page_values(request))]
        return SearchResult(matches, self._included(matches, request), total)

    def search_all(self, request: SearchRequest, *, limit: int = 10_000) -> list[StoredResource]:
        """Every match of a search (conditional create/update, internal lookups), bounded."""
        request.count, request.offset, request.total = limit, 0, "none"
        return self.search(request).matches

    def _included(self, matches: list[StoredResource], request: SearchRequest) -> list[StoredResource]:
        seen = {(m.partition, m.resource_type, m.id) for m in matches}
        included: list[StoredResource] = []
        frontier = matches
        for round_number in range(3):  # :iterate follows at most three hops
            found: list[StoredResource] = []
            for include in request.include:
                if round_number == 0 or include.iterate:
                    found += self._forward(frontier, include)
            for include in request.revinclude:
                if round_number == 0 or include.iterate:
                    found += self._reverse(frontier, include)
            frontier = []
            for r in found:  # two directives of a round may reach one resource (Claim:patient, :iterate): once
                if (key := (r.partition, r.resource_type, r.id)) not in seen:
                    seen.add(key)
                    frontier.append(r)
            included += frontier
            if not frontier:
                break
        return included

    def _forward(self, sources: list[StoredResource], include: Include) -> list[StoredResource]:
        """`_include=Claim:patient`: the resources the sources point at through that parameter. An AuditEvent's
        (`audit_log`) by `entity` only, its one reference kept: any other parameter is refused, found or not."""
        audited = _audited_entity(include, "_include")
        by_partition: dict[str, list[str]] = {}
        for s in sources:
            if s.resource_type == include.source_type:
                by_partition.setdefault(s.partition, []).append(s.id)
        if not by_partition:
            return []
        if audited:
            return [stored_from_row(r) for r in self.audit.entities(by_partition, include.target_type)]
        source, target = aliased(ResourceRow), aliased(ResourceRow)
        chosen = or_(*(and_(source.partition == partition, source.logical_id.in_(ids))
                       for partition, ids in by_partition.items()))
        query = (
            select(target).distinct()
            .select_from(source)
            .join(ReferenceIndex, ReferenceIndex.resource_pk == source.pk)
            .join(target, (target.resource_type == ReferenceIndex.target_type)
                  & (target.logical_id == ReferenceIndex.target_id)
                  & target.partition.in_((source.partition, SHARED_PARTITION)))
            .where(source.resource_type == include.source_type, chosen,
                   ReferenceIndex.param == include.param.name, target.deleted.is_(False),
                   self.scope.condition(target))
        )
        if include.target_type:
            query = query.where(target.resource_type == include.target_type)
        return [stored_from_row(r) for r in self.session.execute(query).scalars()]

    def _reverse(self, targets: list[StoredResource], include: Include) -> list[StoredResource]:
        """`_revinclude=ClaimResponse:request`: the resources that point at the targets through that parameter."""
        by_partition: dict[str, list[StoredResource]] = {}
        for t in targets:
            if include.target_type in (None, t.resource_type):
                by_partition.setdefault(t.partition, []).append(t)
        if not by_partition:
            return []
        if _audited_entity(include, "_revinclude"):
            return [_audit_stored(r) for r in self.audit.about(
                {p: [(t.resource_type, t.id) for t in group] for p, group in by_partition.items()})]
        pointer = aliased(ResourceRow)
        pointed_at = or_(*(and_(ReferenceIndex.target_id.in_([t.id for t in group]),
                                ReferenceIndex.target_type.in_({t.resource_type for t in group}),
                                pointer.partition == partition if partition != SHARED_PARTITION else true())
                           for partition, group in by_partition.items()))
        query = (
            select(pointer).distinct()
            .join(ReferenceIndex, ReferenceIndex.resource_pk == pointer.pk)
            .where(pointer.resource_type == include.source_type, ReferenceIndex.param == include.param.name,
                   pointed_at, pointer.deleted.is_(False), self.scope.condition(pointer))
        )
        return [stored_from_row(r) for r in self.session.execute(query).scalars()]


def _audited_entity(include: Include, directive: str) -> bool:
    """Whether `include` starts from AuditEvents, whose table keeps only their `entity` reference (`audit_log`): by
    `entity`, True; by any other parameter, 400."""
    if include.source_type != AUDIT_EVENT:
        return False
    if include.param.name != "entity":
        raise FhirError.of(400, "not-supported", f"{directive}=AuditEvent:{include.param.name} is not supported "
                                                 f"(AuditEvent:entity is)")
    return True


def _referenced(resource_type: str, resource_id: str, referrers: list[str],
                visible: set[tuple[str, str]]) -> FhirError:
    """409 naming only the referrers the caller can read: integrity is global, what the caller learns is not."""
    named = sorted(f"{t}/{i}" for t, i in visible)
    hidden = len(referrers) - len(named)
    parts = named[:10] + ([f"{hidden} resource(s) you cannot read"] if hidden else [])
    return FhirError.of(409, "conflict", f"{resource_type}/{resource_id} is referenced by {', '.join(parts)}; "
                                         f"delete or change those first")


def _version_conflict(resource_type: str, resource_id: str, expected: int, current: int | None) -> FhirError:
    now = f" (current version is {current})" if current is not None else ""
    return FhirError.of(412, "conflict", f"{resource_type}/{resource_id} has changed: If-Match version {expected} "
                                         f"is not the current one{now}; read it again and re-apply your change")


def _with_meta(resource: dict[str, Any], resource_id: str, version: int, when: datetime) -> dict[str, Any]:
    content = dict(resource)
    content["id"] = resource_id
    meta = dict(content.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = dates.instant(when)
    content["meta"] = meta
    # keep resourceType, id and meta first, as FHIR servers render them
    return {"resourceType": content.pop("resourceType"), "id": content.pop("id"), "meta": content.pop("meta"),
            **content}


def _same_content(current: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    def strip(resource: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in resource.items() if k != "meta"}
        meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
        return {**body, "meta": meta} if meta else body
    return current is not None and strip(current) == strip(new)


def stored_from_row(row, content: dict[str, Any] | None | str = "row", method: str = "PUT",
                    author: str | None = None) -> StoredResource:
    from_row = content == "row"
    body = (_FROM_TEXT if row.content and not row.deleted else None) if from_row else content
    return StoredResource(row.resource_type, row.logical_id, row.version_id, row.last_updated, row.deleted,
                          row.tenant, body, method, author, row.content if from_row and body is not None else None)


def _stored_version(row) -> StoredResource:
    """A version table row (or an audit table row as its one version: `AuditLog.versions`) as a StoredResource."""
    return StoredResource(row.resource_type, row.logical_id, row.version_id, row.last_updated, row.deleted,
                          row.tenant, _loads(row.content), row.method, row.author, row.content)


def _audit_stored(row) -> StoredResource:
    """An audit table row (partition, logical_id, tenant, recorded, content) as the AuditEvent's one version."""
    return StoredResource(AUDIT_EVENT, row.logical_id, 1, row.recorded, False, row.tenant, _FROM_TEXT, "POST",
                          AUDIT_AUTHOR, row.content)


def _append_only(resource_type: str, resource_id: str) -> FhirError:
    return FhirError.of(405, "not-supported", f"{resource_type}/{resource_id} is written once and never changed")


def _index_row(resource_pk: int, resource_type: str, entry: IndexEntry) -> dict[str, Any]:
    common = {"resource_pk": resource_pk, "resource_type": resource_type, "param": entry.param}
    if entry.kind == "token":
        return {**common, "system": entry.system, "code": entry.code}
    if entry.kind == "string":
        return {**common, "normalised": entry.code, "exact": entry.text}
    if entry.kind == "reference":
        return {**common, "target_type": entry.text, "target_id": entry.code}
    if entry.kind == "date":
        return {**common, "low": entry.low, "high": entry.high}
    if entry.kind == "number":
        return {**common, "value": fit_numeric(entry.number)}
    return {**common, "value": fit_numeric(entry.number), "system": entry.system, "code": entry.code}


def ids_of(stored: Iterable[StoredResource]) -> list[str]:
    return [s.reference for s in stored]


@functools.cache
def _insert_chosen(dialect_insert):
    """The INSERT of a resource whose id the client chose (`dialect_insert`: the dialect's, from `insert_for`): no
    row, and no key back, where the id is taken in its partition (a 409), instead of a savepoint around the INSERT
    (three statements, and an ORM session for the rest of the transaction)."""
    return dialect_insert(_RESOURCE).on_conflict_do_nothing(
        index_elements=[_RESOURCE.c.resource_type, _RESOURCE.c.logical_id, _RESOURCE.c.partition]
    ).returning(_RESOURCE.c.pk)
