"""The house's layering, enforced (issue 16; docs/architecture.md §2 draws it).

Read from the source with `tools/import_graph.py` (ast, nothing imported; imports inside functions count):

- every package sits in one layer of `LAYERS` and imports only its own layer or the ones below (no upward arrow);
- no cycle between packages, not even within a layer;
- `fhir/` is pure FHIR mechanics: it imports nothing from `interactions/` or `store/`;
- only the HTTP layer imports Flask or Werkzeug (and the E-Klaim emulator, a WSGI server of its own);
- only `store/` imports SQLAlchemy or Alembic (and the E-Klaim emulator, which stands for Kemenkes' server and keeps
  its own database; it never imports `fhirclaim.store`: tests/eklaim/test_emulator_layering.py);
- outside `store/`, nothing reaches into a unit of work's SQL session.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from testkit import REPO_ROOT

PACKAGE = REPO_ROOT / "fhirclaim"

# Top to bottom. A package may import packages of its own layer and of the layers below it.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("entry points", frozenset({"cli", "server", "worker_process", "demo"})),
    ("Flask app factory", frozenset({"app"})),
    ("HTTP", frozenset({"webapp"})),
    ("HTTP: FHIR REST, operations, admin", frozenset({"api"})),
    ("composition root", frozenset({"runtime"})),
    ("BPJS-K side", frozenset({"bpjs"})),
    ("claims", frozenset({"claims"})),
    ("supporting domain", frozenset({"auth", "webhooks", "signing", "sandbox"})),
    ("FHIR interactions", frozenset({"interactions"})),
    ("storage", frozenset({"store"})),
    ("FHIR mechanics and the counterparts", frozenset({"fhir", "eklaim", "inacbg", "terminology"})),
    ("settings and utilities", frozenset({"config", "startup", "secrets", "signals", "logging_setup", "clock",
                                          "backoff", "__version__", "__init__"})),
)
LAYER_OF = {package: index for index, (_, packages) in enumerate(LAYERS) for package in packages}

HTTP_PACKAGES = {"api", "webapp", "app"}
EMULATOR = PACKAGE / "eklaim" / "emulator"
SQL_MODULES = ("sqlalchemy", "alembic")
WEB_MODULES = ("flask", "werkzeug")


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", REPO_ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GRAPH = _import_graph()
EDGES = GRAPH.package_edges(PACKAGE)
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _package(path: Path) -> str:
    return GRAPH.package_of(GRAPH.module_name(path)) or "__init__"


def _imports(path: Path) -> list[str]:
    return GRAPH.imported_modules(path)


def test_every_package_has_a_layer():
    missing = {_package(path) for path in SOURCES} - set(LAYER_OF)
    assert not missing, f"give {sorted(missing)} a layer in LAYERS (and in docs/architecture.md §2)"


def test_no_upward_arrow():
    upward = sorted(f"{a} -> {b}" for a, b in EDGES if LAYER_OF.get(a, 0) > LAYER_OF.get(b, 0))
    assert not upward


def test_no_cycle_between_packages():
    assert GRAPH.cycles(EDGES) == []


def test_fhir_mechanics_know_nothing_of_storage():
    assert not {b for a, b in EDGES if a == "fhir"} & {"store", "interactions"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_http_layer_imports_a_web_framework(path):
    if _package(path) in HTTP_PACKAGES or path.is_relative_to(EMULATOR):
        return
    assert not [m for m in _imports(path) if m.split(".")[0] in WEB_MODULES]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_store_speaks_sql(path):
    if _package(path) == "store" or path.is_relative_to(EMULATOR):
        return
    assert not [m for m in _imports(path) if m.split(".")[0] in SQL_MODULES]
    text = path.read_text(encoding="utf-8")
    assert not re.findall(r"\buow\.session\b|\.session\.(?:execute|scalar|scalars|add|get|begin_nested|flush)\(",
                          text)


def test_the_checks_can_fail(tmp_path):
    """The graph the tests read sees an upward arrow, a cycle and SQL where they are planted."""
    root = tmp_path / "fhirclaim"
    for package in ("fhir", "store"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "fhir" / "x.py").write_text("from fhirclaim.store import y\n")
    (root / "store" / "y.py").write_text("import sqlalchemy\nfrom fhirclaim.fhir import x\n")
    original = GRAPH.ROOT
    try:
        GRAPH.ROOT = root
        edges = GRAPH.package_edges(root)
    finally:
        GRAPH.ROOT = original
    assert {("fhir", "store"), ("store", "fhir")} <= set(edges)
    assert GRAPH.cycles(edges)
    assert LAYER_OF["fhir"] > LAYER_OF["store"]
