"""The Alembic migrations build exactly the schema the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from migrationkit import downgrade
from sqlalchemy import inspect

import fhirclaim.store
from fhirclaim.store.db import Database
from fhirclaim.store.models import Base


def _import_every_store_module() -> None:
    for module in pkgutil.walk_packages(fhirclaim.store.__path__, "fhirclaim.store."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def test_migrated_schema_matches_the_models(database_url):
    _import_every_store_module()
    database = Database(database_url)
    database.migrate()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _made_on(connection.dialect.name)})
        differences = compare_metadata(context, Base.metadata)
    database.dispose()
    assert differences == []


def _made_on(dialect: str):
    """Alembic's `include_object`: an index the models make on another dialect only (`Index.ddl_if`, which
    alembic's comparison does not read: the worklist's trigram index, PostgreSQL's) is not expected here."""
    def include(item, _name, kind, reflected, _compare_to) -> bool:
        condition = getattr(item, "_ddl_if", None) if kind == "index" and not reflected else None
        return condition is None or condition.dialect in (None, dialect)
    return include


def test_the_worklists_name_index_is_postgresqls_only(database_url):
    database = Database(database_url)
    with database.engine.connect() as connection:
        indexes = {index["name"] for index in inspect(connection).get_indexes("claim_worklist")}
        dialect = connection.dialect.name
    database.dispose()
    assert ("ix_worklist_patient_trgm" in indexes) == (dialect == "postgresql")
    assert "ix_worklist_patient" in indexes  # the tenant's, which a search by name reads on both


def test_migration_0020_drops_the_name_index_on_sqlite_and_its_downgrade_makes_it_again(database_url):
    database = Database(database_url)

    def name_indexes() -> set[str]:
        with database.engine.connect() as connection:
            return {i["name"] for i in inspect(connection).get_indexes("claim_worklist")} & {"ix_worklist_patient_trgm"}

    downgrade(database, "0019")
    assert name_indexes() == {"ix_worklist_patient_trgm"}  # as 0014 made it, on both
    database.migrate()
    assert name_indexes() == (set() if database.is_sqlite else {"ix_worklist_patient_trgm"})
    database.dispose()


def test_migrate_is_idempotent_and_versioned(database_url):
    database = Database(database_url)
    database.migrate()
    database.migrate()
    with database.engine.connect() as connection:
        version = MigrationContext.configure(connection).get_current_revision()
        tables = set(inspect(connection).get_table_names())
    database.dispose()
    assert version is not None
    assert {"resource", "resource_version", "idx_token", "idx_string", "idx_reference", "idx_date", "idx_number",
            "idx_quantity"} <= tables


def test_migration_0022_drops_the_claim_id_index_whose_work_claim_status_does_and_its_downgrade_makes_it_again(
        database_url):
    database = Database(database_url)

    def job_indexes() -> set[str]:
        with database.engine.connect() as connection:
            return {i["name"] for i in inspect(connection).get_indexes("claim_job")} & {
                "ix_claim_job_claim", "ix_claim_job_claim_status"}

    assert job_indexes() == {"ix_claim_job_claim_status"}
    downgrade(database, "0021")
    assert job_indexes() == {"ix_claim_job_claim", "ix_claim_job_claim_status"}
    database.migrate()
    assert job_indexes() == {"ix_claim_job_claim_status"}
    if database.is_sqlite:  # a lookup of a claim's jobs by claim_id alone reads the (claim_id, status) index
        with database.engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM claim_job WHERE claim_id = 'c1' ORDER BY id DESC"))
        assert "ix_claim_job_claim_status" in plan
    database.dispose()
