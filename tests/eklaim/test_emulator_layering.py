"""Layering: the emulator is its own product (it reaches the facade only over the wire), and the client side of
fhirclaim.eklaim is a domain package (no web framework)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fhirclaim" / "eklaim"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "emulator").glob("*.py")), ids=lambda p: p.name)
def test_the_emulator_never_imports_the_facade(path):
    forbidden = {m for m in imported_modules(path)
                 if m.split(".")[:2] in (["fhirclaim", "api"], ["fhirclaim", "claims"], ["fhirclaim", "store"])
                 or m.startswith("flask")}
    assert not forbidden


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_client_side_imports_no_web_framework(path):
    modules = imported_modules(path)
    assert not {m for m in modules if m.split(".")[0] in ("flask", "werkzeug")}
    assert not {m for m in modules if m.startswith("fhirclaim.eklaim.emulator")}
