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
