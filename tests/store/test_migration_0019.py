"""Migration 0019 (append-only AuditEvents, issue 17): an AuditEvent written before it keeps reading as its one
version, from its resource row, once its copy in the version table is gone; other types keep their versions; the
downgrade writes the copies back."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from fhirclaim.store.db import MIGRATIONS, Database
from fhirclaim.store.scope import tenant_scope
from fhirclaim.store.unit_of_work import Store

A = "10000004"
WHEN = datetime(2026, 12, 1, 8, 0, 0)
EVENT = ('{"resourceType":"AuditEvent","id":"e1","meta":{"versionId":"1","lastUpdated":"2026-12-01T08:00:00.000Z"},'
         '"action":"C","outcome":"0","entity":[{"what":{"reference":"Patient/p1/_history/1"}}]}')
PATIENT = '{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2026-12-01T08:00:00.000Z"}}'
VERSION_ROWS = "SELECT resource_type, logical_id, version_id, method, author, content FROM resource_version " \
               "ORDER BY resource_type"


def _fill_0018(database: Database) -> None:
    with database.engine.begin() as connection:
        for kind, logical_id, author, content in (("AuditEvent", "e1", "system:audit", EVENT),
                                                  ("Patient", "p1", "facility:a", PATIENT)):
            row = {"partition": A, "resource_type": kind, "logical_id": logical_id, "version_id": 1,
                   "last_updated": WHEN, "deleted": False, "tenant": A, "content": content}
            connection.execute(text("INSERT INTO resource (partition, resource_type, logical_id, version_id, "
                                    "last_updated, deleted, tenant, content) VALUES (:partition, :resource_type, "
                                    ":logical_id, :version_id, :last_updated, :deleted, :tenant, :content)"), row)
            connection.execute(text("INSERT INTO resource_version (partition, resource_type, logical_id, version_id, "
                                    "last_updated, deleted, method, author, tenant, content) VALUES (:partition, "
                                    ":resource_type, :logical_id, :version_id, :last_updated, :deleted, 'POST', "
                                    ":author, :tenant, :content)"), {**row, "author": author})


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


def test_audit_events_of_0018_read_as_their_one_version_and_come_back_on_downgrade(database):
    _downgrade(database, "0018")
    _fill_0018(database)
    before = _query(database, VERSION_ROWS)
    assert [r[:3] for r in before] == [("AuditEvent", "e1", 1), ("Patient", "p1", 1)]
    database.migrate()

    assert _query(database, VERSION_ROWS) == before[1:]  # the Patient's versions stay
    with Store(database).unit_of_work(tenant_scope(A), write=False) as uow:
        first = uow.resources.vread("AuditEvent", "e1", 1)
        assert (first.content["outcome"], first.method, first.author, first.text) == ("0", "POST", "system:audit",
                                                                                      EVENT)
        history = uow.resources.history()
        assert sorted((v.resource_type, v.id, v.version_id, v.method, v.author) for v in history.versions) == [
            ("AuditEvent", "e1", 1, "POST", "system:audit"), ("Patient", "p1", 1, "POST", "facility:a")]
        assert history.total == 2
        assert uow.resources.history("AuditEvent", "e1").total == 1

    _downgrade(database, "0018")
    assert _query(database, VERSION_ROWS) == before
    database.migrate()
