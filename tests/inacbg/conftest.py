"""One Grouper per test session (the tables load once per process anyway)."""

from __future__ import annotations

import pytest

from fhirclaim.inacbg.grouper import Grouper


@pytest.fixture(scope="session")
def grouper() -> Grouper:
    return Grouper()
