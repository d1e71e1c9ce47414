"""The audit trail as an append-only table (issue 17): one row per AuditEvent, one INSERT per audited write.

Every write is audited inside its transaction, so the trail is the most written thing in the store. As a FHIR
resource an AuditEvent cost a resource row, a version row and three statements of search index rows; here it is
one row holding the AuditEvent as served (`content`, meta included: a read answers these bytes) beside the few
values its searches use. It is never updated or deleted: its one version is version 1.

`SqlResourceRepository` keeps AuditEvent in its interface (create, read, vread, history, search,
`_include=AuditEvent:entity`, `_revinclude=AuditEvent:entity`) and hands it to `AuditLog`. The searches answered
here are those of `SEARCH_PARAMS`; another parameter, a chain, `_revinclude` or a sort by anything but the time or
the id is refused (400), as the generic search refuses a parameter it does not know. Of an AuditEvent's references
only `entity` is kept (its type and id columns): `_include` and `_revinclude` by any other are refused too.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, and_, func, insert, literal, not_, or_, select, true
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from fhirclaim.fhir import dates, jsonio
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.search_request import Criterion, SearchRequest
from fhirclaim.store.execution import execute_later
from fhirclaim.store.models import Base, ResourceRow
from fhirclaim.store.scope import SHARED_PARTITION, Scope, partition_of
from fhirclaim.store.search_sql import At, Binds, criterion_at, id_condition, instant_match, value_at, value_match

AUDIT_EVENT = "AuditEvent"
AUTHOR = "system:audit"  # who writes every AuditEvent (auth/audit.py): the author of its one version
# The AuditEvent search parameters the table answers (the CapabilityStatement lists these)
SEARCH_PARAMS = frozenset({"_id", "_lastUpdated", "date", "action", "outcome", "type", "subtype", "entity"})


class AuditLogRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_id", "logical_id"),
        Index("ix_audit_log_tenant_recorded", "tenant", "recorded"),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partition: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded: Mapped[datetime] = mapped_column(DateTime)  # naive UTC: `recorded` and `meta.lastUpdated`
    action: Mapped[str | None] = mapped_column(String(8), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)
    type_system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    type_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subtype_system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    subtype_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[str] = mapped_column(Text)


_TABLE = AuditLogRow.__table__
# built once (store/execution.py); inline: PostgreSQL would otherwise return the new row's key, which no one reads
_INSERT = insert(_TABLE).inline()
_COLUMNS = (_TABLE.c.partition, _TABLE.c.logical_id, _TABLE.c.tenant, _TABLE.c.recorded, _TABLE.c.content)
# The table seen as the resource table's rows, for `Scope.condition` (an AuditEvent is version 1, never disclosed)
_AS_RESOURCE = SimpleNamespace(partition=_TABLE.c.partition, tenant=_TABLE.c.tenant, logical_id=_TABLE.c.logical_id,
                               resource_type=literal(AUDIT_EVENT), version_id=literal(1))
# Each searchable value as the index table of its kind would hold it (search_sql's matching reads these names)
_AS_INDEX = {
    "action": SimpleNamespace(code=_TABLE.c.action, system=literal(None, String)),
    "outcome": SimpleNamespace(code=_TABLE.c.outcome, system=literal(None, String)),
    "type": SimpleNamespace(code=_TABLE.c.type_code, system=_TABLE.c.type_system),
    "subtype": SimpleNamespace(code=_TABLE.c.subtype_code, system=_TABLE.c.subtype_system),
    "entity": SimpleNamespace(target_id=_TABLE.c.entity_id, target_type=_TABLE.c.entity_type),
}
_PRESENT = {"action": _TABLE.c.action, "outcome": _TABLE.c.outcome, "type": _TABLE.c.type_code,
            "subtype": _TABLE.c.subtype_code, "entity": _TABLE.c.entity_id, "date": _TABLE.c.recorded}


def audit_columns(event: dict[str, Any]) -> dict[str, Any]:
    """The searched values of an AuditEvent (its first subtype and entity: `auth/audit.py` writes one of each)."""
    kind = event.get("type") or {}
    subtype = (event.get("subtype") or [{}])[0]
    what = ((event.get("entity") or [{}])[0].get("what") or {}).get("reference") or ""
    entity_type, _, rest = what.partition("/")
    return {"action": event.get("action"), "outcome": event.get("outcome"), "type_system": kind.get("system"),
            "type_code": kind.get("code"), "subtype_system": subtype.get("system"),
            "subtype_code": subtype.get("code"), "entity_type": entity_type or None,
            "entity_id": rest.split("/", 1)[0] or None}


def rendered(event: dict[str, Any], event_id: str, when: datetime) -> dict[str, Any]:
    """The AuditEvent as stored and served: id and meta first, recorded when it was stored."""
    instant = dates.instant(when)
    body = {key: value for key, value in event.items() if key not in ("resourceType", "id", "meta")}
    body["recorded"] = instant
    return {"resourceType": AUDIT_EVENT, "id": event_id, "meta": {"versionId": "1", "lastUpdated": instant}, **body}


class AuditLog:
    """The AuditEvents of one transaction, seen through a scope. Rows come back as (partition, logical_id, tenant,
    recorded, content): `SqlResourceRepository` makes StoredResources of them."""

    def __init__(self, session: Session, scope: Scope):
        self.session, self.scope = session, scope

    def append(self, event: dict[str, Any], event_id: str, tenant: str | None, when: datetime) -> tuple[dict, str]:
        """Store one AuditEvent; (content, its JSON)."""
        content = rendered(event, event_id, when)
        text = jsonio.dumps(content)
        execute_later(self.session, _INSERT, {"partition": partition_of(tenant), "logical_id": event_id,
                                              "tenant": tenant, "recorded": when, "content": text,
                                              **audit_columns(content)})
        return content, text

    def visible(self):
        """What the scope sees, as of the resource table (the tenant's own, or any for admin and the system)."""
        return self.scope.condition(_AS_RESOURCE)

    def find(self, event_id: str):
        rows = self.session.execute(select(*_COLUMNS).where(_TABLE.c.logical_id == event_id, self.visible())).all()
        return self.scope.resolve(rows, f"{AUDIT_EVENT}/{event_id}")

    def existing(self, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        return set(self.session.execute(select(_TABLE.c.logical_id).where(_TABLE.c.logical_id.in_(ids),
                                                                          self.visible())).scalars())

    def versions(self, event_id: str | None, partition: str | None, since: datetime | None):
        """The AuditEvents as history rows (the version table's columns), for a union with the version table."""
        query = select(_TABLE.c.partition, literal(AUDIT_EVENT, String).label("resource_type"), _TABLE.c.logical_id,
                       literal(1, Integer).label("version_id"), _TABLE.c.recorded.label("last_updated"),
                       literal(False).label("deleted"), literal("POST", String).label("method"),
                       literal(AUTHOR, String).label("author"), _TABLE.c.tenant, _TABLE.c.content)
        if event_id is not None:
            query = query.where(_TABLE.c.logical_id == event_id, _TABLE.c.partition == partition)
        if since:
            query = query.where(_TABLE.c.recorded >= since)
        return query.where(self.visible())

    def search(self, request: SearchRequest) -> tuple[list, int | None]:
        """(rows of a page, total or None)."""
        if request.revinclude:  # refused as before; `_include` is the repository's (`_forward`: AuditEvent:entity)
            raise _unsupported("_revinclude")
        binds = Binds()  # built per search (an AuditEvent search is rare): bound as search_sql binds its values
        query = select(*_COLUMNS).where(self.visible(), *(_condition(c, binds, criterion_at(n))
                                                          for n, c in enumerate(request.criteria)))
        values = binds.values(request)
        total = None
        if request.total != "none" or request.summary_count:
            total = self.session.execute(select(func.count()).select_from(query.subquery()), values).scalar_one()
        if request.summary_count or request.count == 0:
            return [], total
        order = []
        for param, descending in request.sort:
            if param.name not in ("date", "_lastUpdated", "_id"):
                raise _unsupported(f"_sort={param.name}")
            column = _TABLE.c.logical_id if param.name == "_id" else _TABLE.c.recorded
            order.append(column.desc() if descending else column.asc())
        order += [_TABLE.c.recorded.desc(), _TABLE.c.pk.desc()]
        rows = self.session.execute(query.order_by(*order).limit(request.count).offset(request.offset), values).all()
        return rows, total

    def entities(self, events: dict[str, list[str]], target_type: str | None):
        """`_include=AuditEvent:entity`: the current resources these AuditEvents (ids by partition) name as their
        entity, in the event's partition or the shared one, undeleted and seen by the scope (as the repository's
        `_forward` finds any other include's targets), of `target_type` if one is given."""
        target = aliased(ResourceRow)
        chosen = or_(*(and_(_TABLE.c.partition == partition, _TABLE.c.logical_id.in_(ids))
                       for partition, ids in events.items()))
        query = (select(target).distinct().select_from(_TABLE)
                 .join(target, (target.resource_type == _TABLE.c.entity_type)
                       & (target.logical_id == _TABLE.c.entity_id)
                       & target.partition.in_((_TABLE.c.partition, SHARED_PARTITION)))
                 .where(chosen, target.deleted.is_(False), self.scope.condition(target)))
        if target_type:
            query = query.where(target.resource_type == target_type)
        return self.session.execute(query).scalars().all()

    def about(self, targets: dict[str, list[tuple[str, str]]]):
        """`_revinclude=AuditEvent:entity`: the AuditEvents naming these (type, id) targets, by partition."""
        named = or_(*(and_(or_(*(and_(_TABLE.c.entity_type == t, _TABLE.c.entity_id == i) for t, i in pairs)),
                           _TABLE.c.partition == partition if partition != SHARED_PARTITION else true())
                      for partition, pairs in targets.items()))
        return self.session.execute(select(*_COLUMNS).where(named, self.visible())).all()


def _condition(criterion: Criterion, binds: Binds, at: At):
    name = criterion.param.name
    if name not in SEARCH_PARAMS or criterion.chain is not None:
        raise _unsupported(name if criterion.chain is None else f"a chain on {name}")
    if name == "_id":
        return id_condition(criterion, SimpleNamespace(logical_id=_TABLE.c.logical_id), binds, at)
    if criterion.missing is not None:
        present = _PRESENT.get(name)
        if present is None:
            raise _unsupported(f"{name}:missing")
        return present.is_(None) if criterion.missing else present.is_not(None)
    if name in ("date", "_lastUpdated"):
        matches = or_(*(instant_match(v, _TABLE.c.recorded, binds, value_at(at, n))
                        for n, v in enumerate(criterion.values)))
    else:
        matches = or_(*(value_match(criterion.param.type, criterion.modifier, v, _AS_INDEX[name], binds,
                                     value_at(at, n)) for n, v in enumerate(criterion.values)))
    return not_(matches) if criterion.modifier == "not" else matches


def _unsupported(what: str) -> FhirError:
    return FhirError.of(400, "not-supported", f"AuditEvent search does not support {what}; it supports "
                                              f"{', '.join(sorted(SEARCH_PARAMS))}")
