"""Migration 0019 (the audit trail in its own append-only table, issue 17): an AuditEvent written before it moves
to `audit_log` and reads, vreads and searches as before; its resource, version and index rows go while other
types' stay; the downgrade puts them back as they were."""

from __future__ import annotations

import ast
from datetime import datetime

from migrationkit import downgrade
from sqlalchemy import DateTime, bindparam, column, func, insert, select, table, text

from fhirclaim.fhir import jsonio
from fhirclaim.fhir.indexing import index_resource
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.db import MIGRATIONS, Database
from fhirclaim.store.models import INDEX_TABLES
from fhirclaim.store.repository import _index_row
from fhirclaim.store.scope import tenant_scope
from fhirclaim.store.unit_of_work import Store

A, B = "10000004", "10000099"
WHEN = datetime(2026, 12, 1, 8, 0, 0, 123000)
EVENT = ('{"resourceType":"AuditEvent","id":"e1","meta":{"versionId":"1","lastUpdated":"2026-12-01T08:00:00.123Z"},'
         '"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},'
         '"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"create"}],"action":"C",'
         '"recorded":"2026-12-01T08:00:00.120Z","outcome":"0","entity":[{"what":{"reference":"Patient/p1/_history/1"}}]}')
PATIENT = '{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2026-12-01T08:00:00.123Z"}}'
RESOURCE_ROWS = "SELECT resource_type, logical_id, partition, tenant, content FROM resource ORDER BY resource_type"
VERSION_ROWS = "SELECT resource_type, logical_id, version_id, method, author, content FROM resource_version " \
               "ORDER BY resource_type"
INDEX_ROWS = ("SELECT r.resource_type, i.param, i.code FROM idx_token i JOIN resource r ON r.pk = i.resource_pk "
              "UNION ALL SELECT r.resource_type, i.param, i.target_id FROM idx_reference i JOIN resource r "
              "ON r.pk = i.resource_pk ORDER BY 1, 2, 3")


def _fill_0018(database: Database, event: str = EVENT) -> None:
    """An AuditEvent and a Patient as revision 0018 stored them: resource, version and index rows."""
    with database.engine.begin() as connection:
        for kind, logical_id, author, content in (("AuditEvent", "e1", "system:audit", event),
                                                  ("Patient", "p1", "facility:a", PATIENT)):
            row = {"partition": A, "resource_type": kind, "logical_id": logical_id, "version_id": 1,
                   "last_updated": WHEN, "deleted": False, "tenant": A, "content": content}
            pk = connection.execute(text(
                "INSERT INTO resource (partition, resource_type, logical_id, version_id, last_updated, deleted, "
                "tenant, content) VALUES (:partition, :resource_type, :logical_id, :version_id, :last_updated, "
                ":deleted, :tenant, :content) RETURNING pk"), row).scalar_one()
            connection.execute(text(
                "INSERT INTO resource_version (partition, resource_type, logical_id, version_id, last_updated, "
                "deleted, method, author, tenant, content) VALUES (:partition, :resource_type, :logical_id, "
                ":version_id, :last_updated, :deleted, 'POST', :author, :tenant, :content)"), {**row, "author": author})
            for entry in index_resource(jsonio.loads(content)):  # typed as the repository wrote them
                connection.execute(insert(INDEX_TABLES[entry.kind].__table__), _index_row(pk, kind, entry))


def _query(database: Database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def test_audit_events_of_0018_move_to_the_audit_log_and_back(database):
    downgrade(database, "0018")
    _fill_0018(database)
    before = [_query(database, sql) for sql in (RESOURCE_ROWS, VERSION_ROWS, INDEX_ROWS)]
    assert [r[:2] for r in before[1]] == [("AuditEvent", "e1"), ("Patient", "p1")]
    assert ("AuditEvent", "outcome", "0") in before[2] and ("AuditEvent", "entity", "p1") in before[2]
    database.migrate()

    assert [r[0] for r in _query(database, RESOURCE_ROWS)] == ["Patient"]
    assert [r[:2] for r in _query(database, VERSION_ROWS)] == [("Patient", "p1")]
    assert _query(database, INDEX_ROWS) == [r for r in before[2] if r[0] == "Patient"]
    assert _query(database, "SELECT logical_id, tenant, action, outcome, subtype_code, entity_type, entity_id "
                            "FROM audit_log") == [("e1", A, "C", "0", "create", "Patient", "p1")]
    store = Store(database)
    with store.unit_of_work(tenant_scope(A), write=False) as uow:
        event = uow.resources.read("AuditEvent", "e1")
        assert (event.text, event.version_id, event.method, event.author) == (EVENT, 1, "POST", "system:audit")
        assert event.last_updated == datetime(2026, 12, 1, 8, 0, 0, 120000)  # its `recorded`
        assert uow.resources.vread("AuditEvent", "e1", 1).text == EVENT
        for pairs in ([("entity", "Patient/p1")], [("outcome", "0"), ("subtype", "create")],
                      [("date", "2026-12-01")], [("_id", "e1")]):
            assert [s.id for s in uow.resources.search(parse_search("AuditEvent", pairs)).matches] == ["e1"], pairs
        assert uow.resources.search(parse_search("AuditEvent", [("date", "gt2026-12-01")])).matches == []
        history = uow.resources.history()
        assert sorted((v.resource_type, v.id, v.method, v.author) for v in history.versions) == [
            ("AuditEvent", "e1", "POST", "system:audit"), ("Patient", "p1", "POST", "facility:a")]
    with store.unit_of_work(tenant_scope(B), write=False) as uow:
        assert uow.resources.find("AuditEvent", "e1") is None

    downgrade(database, "0018")
    assert [_query(database, sql) for sql in (RESOURCE_ROWS, VERSION_ROWS, INDEX_ROWS)] == before
    database.migrate()


# Every AuditEvent search parameter with a value, and the kinds of value each may hold: references relative,
# versioned, absolute (another server's, one longer than the index column) and none; a dateTime with an offset
EVERY_PARAMETER = jsonio.dumps({
    "resourceType": "AuditEvent", "id": "e1",
    "meta": {"versionId": "1", "lastUpdated": "2026-12-01T08:00:00.123Z", "profile": ["http://example.org/p"],
             "tag": [{"system": "http://example.org/tags", "code": "t1"}],
             "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
             "source": "urn:example:source"},
    "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
    "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "update"},
                {"system": "http://example.org/sub", "code": "s2"}, {"code": ""}],
    "action": "U", "recorded": "2026-12-01T15:00:00+07:00", "outcome": "4",
    "agent": [{"who": {"reference": "Practitioner/pr1/_history/3"}, "requestor": True},
              {"who": {"reference": "http://other.example/fhir/Device/d1/_history/2"}, "requestor": False},
              {"who": {"reference": "https://other.example/" + "x" * 60 + "/fhir/Device/d2"}, "requestor": False},
              {"who": {"identifier": {"system": "https://fhirclaim.org/fhir/sid/client-id", "value": "c1"}},
               "requestor": False},
              {"who": {"reference": "#contained"}, "requestor": False}],
    "source": {"site": "RS Harapan", "observer": {"reference": "Organization/o1"}},
    "entity": [{"what": {"reference": "Patient/p1/_history/1"}}, {"what": {"reference": "urn:uuid:1234"}},
               {"what": {"reference": "Encounter/enc-1"}}]})
EVERY_INDEX_ROW = (
    "SELECT i.param, i.system, i.code, CAST(NULL AS TIMESTAMP), CAST(NULL AS TIMESTAMP) FROM idx_token i "
    "JOIN resource r ON r.pk = i.resource_pk "
    "WHERE r.resource_type = 'AuditEvent' UNION ALL SELECT i.param, i.target_type, i.target_id, NULL, NULL "
    "FROM idx_reference i JOIN resource r ON r.pk = i.resource_pk WHERE r.resource_type = 'AuditEvent' "
    "UNION ALL SELECT i.param, NULL, NULL, i.low, i.high FROM idx_date i JOIN resource r ON r.pk = i.resource_pk "
    "WHERE r.resource_type = 'AuditEvent'")


def test_the_downgrade_indexes_an_audit_event_as_revision_0018_did(database):
    """The downgrade's own copy of AuditEvent's indexing (it imports nothing of the application) gives the rows the
    application's indexer gave when the event was stored: every parameter, every kind of value."""
    downgrade(database, "0018")
    _fill_0018(database, EVERY_PARAMETER)
    indexed = sorted(_query(database, EVERY_INDEX_ROW), key=repr)
    assert {row[0] for row in indexed} == {"_profile", "_tag", "_security", "_source", "action", "agent", "date",
                                            "entity", "outcome", "site", "source", "subtype", "type"}
    assert ("date", None, None, datetime(2026, 12, 1, 8, 0), datetime(2026, 12, 1, 8, 0, 1)) in [
        tuple(_datetime(v) for v in row) for row in indexed]
    database.migrate()
    downgrade(database, "0018")
    assert sorted(_query(database, EVERY_INDEX_ROW), key=repr) == indexed
    with database.engine.connect() as connection:  # a time compares as the repository's own (SQLite: its text)
        since = select(func.count()).select_from(table("resource", column("last_updated", DateTime()))).where(
            column("last_updated", DateTime()) >= bindparam("since", datetime(2026, 12, 1, 8, 0), DateTime()))
        assert connection.execute(since).scalar_one() == 2
    database.migrate()
    with Store(database).unit_of_work(tenant_scope(A), write=False) as uow:
        found = uow.resources.search(parse_search("AuditEvent", [("date", "2026-12-01T08:00:00Z")])).matches
        assert [s.id for s in found] == ["e1"]  # `recorded` (15:00 at +07:00) as naive UTC, whole microseconds


def _datetime(value):
    """A date index value as a datetime (SQLite answers the stored text to a query without column types)."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value[:4].isdigit() and "-" in value[:5] \
        else value


def test_no_migration_imports_the_application():
    """A migration runs as written when the application's code has changed since: it imports nothing of
    fhirclaim (what it needs of it is copied as of its revision)."""
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] == "fhirclaim"], f"{path.name} imports {names}"
