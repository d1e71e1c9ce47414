"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fhirclaim.store.db import Database

from pipelinekit import statements_sent


@pytest.fixture
def database(database_url) -> Iterator[Database]:
    """A `Database` on the test's empty, migrated database."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def statements(database) -> Iterator[list[str]]:
    """The SQL of each statement the database's connections send while the test runs (from `statements_sent`)."""
    with statements_sent(database.engine) as sent:
        yield sent


@pytest.fixture
def other(database_url, runtime):
    """Another process's store on the runtime's (migrated) database: its own engine, writer turn and notice board,
    sharing nothing with the runtime's but the database (the server, or the file)."""
    from fhirclaim.store.unit_of_work import Store

    database = Database(database_url)
    yield Store(database)
    database.dispose()
