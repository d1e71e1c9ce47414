"""Migration 0019 (the audit trail in its own append-only table, issue 17): an AuditEvent written before it moves
to `audit_log` and reads, vreads and searches as before; its resource, version and index rows go while other
types' stay; the downgrade puts them back as they were."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from fhirclaim.fhir import jsonio
from fhirclaim.fhir.indexing import index_resource
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.db import MIGRATIONS, Database
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


def _fill_0018(database: Database) -> None:
    """An AuditEvent and a Patient as revision 0018 stored them: resource, version and index rows."""
    with database.engine.begin() as connection:
        for kind, logical_id, author, content in (("AuditEvent", "e1", "system:audit", EVENT),
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
            for entry in index_resource(jsonio.loads(content)):
                values = _index_row(pk, kind, entry)
                connection.execute(text(f"INSERT INTO idx_{entry.kind} ({', '.join(values)}) "  # noqa: S608
                                        f"VALUES ({', '.join(':' + c for c in values)})"), values)


def _query(database: Database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def _downgrade(database: Database, target: str) -> None:
    with database.engine.connect() as connection:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, target)
        connection.commit()


def test_audit_events_of_0018_move_to_the_audit_log_and_back(database):
    _downgrade(database, "0018")
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

    _downgrade(database, "0018")
    assert [_query(database, sql) for sql in (RESOURCE_ROWS, VERSION_ROWS, INDEX_ROWS)] == before
    database.migrate()
