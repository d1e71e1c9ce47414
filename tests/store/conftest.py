"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fhirclaim.store.db import Database


@pytest.fixture
def database(database_url) -> Iterator[Database]:
    """A `Database` on the test's empty, migrated database."""
    database = Database(database_url)
    yield database
    database.dispose()
