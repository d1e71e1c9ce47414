"""Shared pytest fixtures. Reference data lives at ../shared/reference (beside the checkout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT.parent / "shared" / "reference"


def load_reference(relative: str):
    """Parse a JSON file of ../shared/reference."""
    return json.loads((REFERENCE / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE
