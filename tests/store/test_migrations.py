"""The Alembic migrations build exactly the schema the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
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
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    assert differences == []


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
