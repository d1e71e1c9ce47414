"""The audit trail in its own append-only table (issue 17): `audit_log`, one row per AuditEvent.

Upgrade creates `audit_log` and moves every AuditEvent there: its stored JSON as it is, with the values its searches
use taken from it (`store/audit_log.audit_columns` as of this revision); its resource row, version rows and search
index rows go. Downgrade moves them back: a resource row, a version row (version 1, POST by `system:audit`) and the
index rows revision 0018's indexer gave each. Rows move in batches, so a long trail does not sit in memory at once.

It imports nothing of the application: what it takes from it (the searched values, AuditEvent's search index rows) is
copied here as of this revision, so the migration keeps doing what it did when that code changes later.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

AUDIT_EVENT = "AuditEvent"
AUTHOR = "system:audit"  # the one author of AuditEvents as of this revision
BATCH = 1000
INDEX_NAMES = ("idx_token", "idx_string", "idx_reference", "idx_date", "idx_number", "idx_quantity")
COLUMNS = ("partition", "logical_id", "tenant", "recorded", "action", "outcome", "type_system", "type_code",
           "subtype_system", "subtype_code", "entity_type", "entity_id", "content")
# typed: on SQLite a time is compared as the text SQLAlchemy writes (whole microseconds), which the driver's own
# conversion of a datetime is not on a whole second
TIMES = ("last_updated", "recorded", "low", "high")


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(n, sa.DateTime()) if n in TIMES else sa.column(n) for n in columns))


RESOURCE = _table("resource", "pk", "partition", "resource_type", "logical_id", "version_id", "last_updated", "deleted",
                  "tenant", "content")
VERSION = _table("resource_version", "partition", "resource_type", "logical_id", "version_id", "last_updated",
                 "deleted", "method", "author", "tenant", "content")
AUDIT = _table("audit_log", "pk", *COLUMNS)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("logical_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("recorded", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("type_system", sa.String(255), nullable=True),
        sa.Column("type_code", sa.String(64), nullable=True),
        sa.Column("subtype_system", sa.String(255), nullable=True),
        sa.Column("subtype_code", sa.String(64), nullable=True),
        sa.Column("entity_type", sa.String(64), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_log_id", "audit_log", ["logical_id"])
    op.create_index("ix_audit_log_tenant_recorded", "audit_log", ["tenant", "recorded"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"])
    _move_to_audit_log(op.get_bind())


def _move_to_audit_log(connection) -> None:
    last = 0
    while True:
        rows = connection.execute(
            sa.select(RESOURCE.c.pk, RESOURCE.c.partition, RESOURCE.c.logical_id, RESOURCE.c.tenant,
                      RESOURCE.c.last_updated, RESOURCE.c.content)
            .where(RESOURCE.c.resource_type == AUDIT_EVENT, RESOURCE.c.pk > last)
            .order_by(RESOURCE.c.pk).limit(BATCH)).all()
        if not rows:
            break
        moved = []
        for row in rows:
            event = json.loads(row.content)
            moved.append({"partition": row.partition, "logical_id": row.logical_id, "tenant": row.tenant,
                          "recorded": _recorded(event) or row.last_updated, "content": row.content,
                          **_audit_columns(event)})
        connection.execute(sa.insert(AUDIT), moved)
        pks = [row.pk for row in rows]
        for name in INDEX_NAMES:  # explicitly: SQLite's foreign keys are off while migrating (no cascade)
            index = sa.table(name, sa.column("resource_pk"))
            connection.execute(sa.delete(index).where(index.c.resource_pk.in_(pks)))
        connection.execute(sa.delete(RESOURCE).where(RESOURCE.c.pk.in_(pks)))
        last = pks[-1]
    connection.execute(sa.delete(VERSION).where(VERSION.c.resource_type == AUDIT_EVENT))


def _audit_columns(event: dict) -> dict:
    """The searched values of an AuditEvent (`store/audit_log.audit_columns` as of this revision: its first subtype
    and entity)."""
    kind = event.get("type") or {}
    subtype = (event.get("subtype") or [{}])[0]
    what = ((event.get("entity") or [{}])[0].get("what") or {}).get("reference") or ""
    entity_type, _, rest = what.partition("/")
    return {"action": event.get("action"), "outcome": event.get("outcome"), "type_system": kind.get("system"),
            "type_code": kind.get("code"), "subtype_system": subtype.get("system"),
            "subtype_code": subtype.get("code"), "entity_type": entity_type or None,
            "entity_id": rest.split("/", 1)[0] or None}


def _recorded(event: dict) -> datetime | None:
    """`recorded` as naive UTC (what the `date` search compares), None when absent or not an instant."""
    try:
        moment = datetime.fromisoformat(event["recorded"])
    except (KeyError, TypeError, ValueError):
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def downgrade() -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.select(AUDIT).where(AUDIT.c.pk > last).order_by(AUDIT.c.pk).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            common = {"partition": row.partition, "resource_type": AUDIT_EVENT, "logical_id": row.logical_id,
                      "version_id": 1, "last_updated": row.recorded, "deleted": False, "tenant": row.tenant,
                      "content": row.content}
            pk = connection.execute(sa.insert(RESOURCE).values(common).returning(RESOURCE.c.pk)).scalar_one()
            connection.execute(sa.insert(VERSION).values({**common, "method": "POST", "author": AUTHOR}))
            entries: dict[str, list[dict]] = {}
            for kind, values in _index_rows(json.loads(row.content)):
                entries.setdefault(kind, []).append({"resource_pk": pk, "resource_type": AUDIT_EVENT, **values})
            for kind, values in entries.items():
                connection.execute(sa.insert(INDEX[kind]), values)
        last = rows[-1].pk
    op.drop_table("audit_log")


# --- AuditEvent's search index rows, as revision 0018 wrote them (fhir/indexing, fhir/dates and the AuditEvent
# search parameters as of this revision, copied: the downgrade must give the rows that revision's searches read) ---

INDEX = {
    "token": _table("idx_token", "resource_pk", "resource_type", "param", "system", "code"),
    "reference": _table("idx_reference", "resource_pk", "resource_type", "param", "target_type", "target_id"),
    "date": _table("idx_date", "resource_pk", "resource_type", "param", "low", "high"),
}
# AuditEvent's indexed search parameters: name, the kind of value, the path from the resource (no choice element)
SEARCH_PARAMS = (
    ("_profile", "uri", ("meta", "profile")), ("_tag", "token", ("meta", "tag")),
    ("_security", "token", ("meta", "security")), ("_source", "uri", ("meta", "source")),
    ("action", "token", ("action",)), ("agent", "reference", ("agent", "who")), ("date", "date", ("recorded",)),
    ("entity", "reference", ("entity", "what")), ("outcome", "token", ("outcome",)),
    ("site", "token", ("source", "site")), ("source", "reference", ("source", "observer")),
    ("subtype", "token", ("subtype",)), ("type", "token", ("type",)))
_TYPE_ID = re.compile(r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?P<history>/_history/[^/]+)?$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_KEY_LENGTH = 64
_DATE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<tz>Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)?)?)?)?$",
    re.ASCII,
)
_MIN, _MAX = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)


def _index_rows(event: dict) -> list[tuple[str, dict]]:
    """(index kind, the row's values) of each value the search parameters reach, each once."""
    rows: dict[tuple, tuple[str, dict]] = {}
    for param, kind, path in SEARCH_PARAMS:
        for values in _entries(kind, _walk(event, path)):
            row = {"param": param, **values}
            rows.setdefault((kind, *row.items()), ("token" if kind == "uri" else kind, row))
    return list(rows.values())


def _walk(event: dict, path: tuple[str, ...]) -> list:
    values = [event]
    for step in path:
        found = []
        for value in values:
            child = value.get(step) if isinstance(value, dict) else None
            if isinstance(child, list):
                found.extend(c for c in child if c is not None)
            elif child is not None:
                found.append(child)
        values = found
    return values


def _entries(kind: str, values: list):
    for value in values:
        if kind == "uri" and isinstance(value, str):
            yield {"system": None, "code": value[:255]}
        elif kind == "token":
            for system, code in _pairs(value):
                if code is not None and code != "":
                    yield {"system": system, "code": str(code)[:255]}
        elif kind == "reference" and isinstance(value, dict):
            if target := _target(value):
                yield {"target_type": target[0], "target_id": target[1]}
        elif kind == "date" and isinstance(value, str) and (span := _range(value)):
            yield {"low": span[0], "high": span[1]}


def _pairs(value):
    if isinstance(value, bool):
        yield None, "true" if value else "false"
    elif isinstance(value, (str, int)):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                yield coding.get("system"), coding.get("code")
        elif "code" in value:
            yield value.get("system"), value.get("code")
        elif "value" in value:
            yield value.get("system"), value.get("value")


def _target(value: dict) -> tuple[str, str] | None:
    """A reference's (type, id): a local one's, an absolute one's type and its whole URL (another server's)."""
    if "resourceType" in value and "id" in value:
        return value["resourceType"], value["id"]
    reference = value.get("reference", "")
    if not isinstance(reference, str) or reference.startswith(("#", "urn:")):
        return None
    match = _TYPE_ID.search(reference)
    if not _ABSOLUTE.match(reference):
        return (match["type"], match["id"]) if match else None
    if match is None:
        return None
    url = reference[: match.start("history")] if match["history"] else reference
    if len(url) > _KEY_LENGTH:
        url = "sha256:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[: _KEY_LENGTH - len("sha256:")]
    return match["type"], url


def _range(text: str) -> tuple[datetime, datetime] | None:
    """`[low, high)` of a date, dateTime or instant in naive UTC (one without a zone read as UTC); None when it is
    none."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    parts = match.groupdict()
    try:
        start = datetime(int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
                         int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
                         int(((parts["fraction"] or ".0")[1:] + "000000")[:6]))
    except ValueError:
        return None
    zone = timezone.utc
    if parts["tz"] and parts["tz"] != "Z":
        sign = 1 if parts["tz"][0] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(parts["tz"][1:3]), minutes=int(parts["tz"][4:6])))
    return _utc(start, zone), _utc(_end(start, parts), zone)


def _end(start: datetime, parts: dict) -> datetime:
    if parts["day"] is None:
        year, month = divmod(start.year * 12 + start.month - 1 + (1 if parts["month"] else 12), 12)
        return datetime(year, month + 1, 1) if year <= 9999 else _MAX
    if parts["second"] is not None:
        width = timedelta(microseconds=1) if parts["fraction"] else timedelta(seconds=1)
    else:
        width = timedelta(minutes=1) if parts["minute"] is not None else timedelta(days=1)
    try:
        return start + width
    except OverflowError:
        return _MAX


def _utc(moment: datetime, zone) -> datetime:
    try:
        return moment.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        return _MIN if moment.year < 5000 else _MAX
