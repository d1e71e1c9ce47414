"""Migration 0018 (ids per tenant partition) carries a 0009 database over: every row keeps its tenant as its
partition, the search index survives the rebuild of `resource` (no cascade), disclosures cover the versions that
existed, and afterwards a second hospital can take an id the first one holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.db import Database
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import Scope, tenant_scope
from fhirclaim.store.unit_of_work import Store

A, B = "10000004", "10000099"
WHEN = datetime(2026, 12, 1, 8, 0, 0)
PATIENT = '{"resourceType": "Patient", "id": "p1", "gender": "female"}'
ORGANIZATION = '{"resourceType": "Organization", "id": "100025555", "name": "BPJS Kesehatan"}'


def _fill_0009(database: Database) -> None:
    rows = {
        "resource": [
            {"resource_type": "Patient", "logical_id": "p1", "version_id": 2, "last_updated": WHEN,
             "deleted": False, "tenant": A, "content": PATIENT},
            {"resource_type": "Organization", "logical_id": "100025555", "version_id": 1,
             "last_updated": WHEN, "deleted": False, "tenant": None, "content": ORGANIZATION}],
        "resource_version": [
            {"resource_type": "Patient", "logical_id": "p1", "version_id": v, "last_updated": WHEN, "deleted": False,
             "method": "PUT", "author": "facility:a", "tenant": A, "content": PATIENT} for v in (1, 2)],
        "idx_token": [{"resource_pk": None, "resource_type": "Patient", "param": "gender", "system": None,
                       "code": "female"}],
        "disclosure": [{"resource_type": "Patient", "resource_id": "p1", "tenant": A, "disclosed_at": WHEN}],
        "claim_worklist": [{"claim_id": "c1", "tenant": A, "status": "received", "stage": "progress",
                            "next_action": "wait", "created_at": WHEN, "updated_at": WHEN}],
        "claim_job": [{"claim_id": "c1", "claim_version": 1, "tenant": A, "kind": "submit", "status": "done",
                       "attempts": 1, "next_attempt_at": WHEN, "created_at": WHEN, "updated_at": WHEN}],
    }
    with database.engine.begin() as connection:
        for table, values in rows.items():
            if table == "idx_token":  # the serial pk the database gave the Patient
                values[0]["resource_pk"] = connection.execute(
                    text("SELECT pk FROM resource WHERE logical_id = 'p1'")).scalar_one()
            columns = list(values[0])
            statement = text(f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (test data, fixed names)
                             f"VALUES ({', '.join(':' + c for c in columns)})")
            connection.execute(statement, values)


def _query(database: Database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def test_upgrade_from_0009_carries_the_data_over(database_url):
    database = Database(database_url)
    _drop_everything(database)
    database.migrate("0009")
    _fill_0009(database)
    database.migrate()

    assert _query(database, "SELECT logical_id, partition FROM resource ORDER BY pk") == [
        ("p1", A), ("100025555", "@shared")]
    patient_pk = _query(database, "SELECT pk FROM resource WHERE logical_id = 'p1'")[0][0]
    assert _query(database, "SELECT partition, version_id FROM resource_version ORDER BY version_id") == [
        (A, 1), (A, 2)]
    assert _query(database, "SELECT resource_pk, code FROM idx_token") == [(patient_pk, "female")]  # not cascaded away
    assert _query(database, "SELECT partition, resource_id, version_id FROM disclosure ORDER BY version_id") == [
        (A, "p1", 1), (A, "p1", 2)]
    assert _query(database, "SELECT partition, claim_id FROM claim_worklist") == [(A, "c1")]

    store = Store(database)
    with store.unit_of_work(tenant_scope(B)) as uow:
        _, created = uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "male"})
        assert created  # B's own p1 beside A's
    with store.unit_of_work(tenant_scope(A)) as uow:
        found = uow.resources.search(parse_search("Patient", [("gender", "female")])).matches
        assert [(s.id, s.tenant, s.version_id) for s in found] == [("p1", A, 2)]
    with store.unit_of_work(Scope(tenant="@bpjs", all_tenants=False, disclosed_only=True)) as uow:
        assert uow.resources.read("Patient", "p1").tenant == A  # B's p1 was never disclosed
        assert SqlResourceRepository(uow.session, uow.resources.scope.within(B)).find("Patient", "p1") is None
    database.dispose()


def _drop_everything(database: Database) -> None:
    """An empty database: every table the newest schema has, dropped (the test database comes migrated)."""
    import fhirclaim.store.access  # noqa: F401  (their tables join Base.metadata)
    import fhirclaim.store.jobs  # noqa: F401
    import fhirclaim.store.outbox  # noqa: F401
    from fhirclaim.store.models import Base

    Base.metadata.drop_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
