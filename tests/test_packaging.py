"""Packaging: every Python package of fhirclaim is listed in setup.cfg (the list is explicit because profiles/ and
examples/ map into the packages fhirclaim.profiles and fhirclaim.examples), and the files the code loads are declared
as package data."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path, PurePosixPath

from setuptools import find_packages

from testkit import REPO_ROOT


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    return parser


def test_every_package_is_listed():
    listed = set(_setup_cfg()["options"]["packages"].split())
    found = set(find_packages(str(REPO_ROOT), include=["fhirclaim*"]))
    assert found - listed == set(), "add these to [options] packages in setup.cfg"
    assert "fhirclaim.profiles" in listed


def test_data_directories_are_package_data():
    declared = _setup_cfg()["options.package_data"]["fhirclaim"].split()
    data_dirs = {p.parent.relative_to(REPO_ROOT / "fhirclaim").as_posix()
                 for p in (REPO_ROOT / "fhirclaim").rglob("*")
                 if p.is_file() and p.suffix in (".json", ".csv", ".tsv", ".txt") and "__pycache__" not in p.parts}
    for directory in data_dirs:
        assert f"{directory}/*" in declared, f"{directory}/* missing from [options.package_data]"


def test_console_script():
    assert "fhirclaim = fhirclaim.cli:main" in _setup_cfg()["options.entry_points"]["console_scripts"]


def test_every_example_file_ships_as_package_data():
    """`fhirclaim demo` reads the installed fhirclaim.examples; a case file no pattern covers would be missing from
    a wheel or the Docker image while the demo still passes from a source checkout."""
    patterns = _setup_cfg()["options.package_data"]["fhirclaim.examples"].split()
    examples = REPO_ROOT / "examples"
    for path in examples.rglob("*"):
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            relative = PurePosixPath(path.relative_to(examples).as_posix())
            assert any(relative.match(pattern) and len(relative.parts) == len(PurePosixPath(pattern).parts)
                       for pattern in patterns), f"examples/{relative}: no fhirclaim.examples package data covers it"


def test_demo_reads_the_installed_examples(tmp_path):
    """Wherever the package fhirclaim.examples is installed from (an editable install's checkout, which need not be
    this one; a wheel's site-packages), the demo reads it there, never the examples/ beside its own source."""
    import fhirclaim.examples
    from fhirclaim import demo

    installed = Path(next(iter(fhirclaim.examples.__path__)))
    assert (demo.EXAMPLES / demo.EXPECTED).is_file()
    assert demo.EXAMPLES.resolve() == installed.resolve()

    elsewhere = tmp_path / "site-packages" / "fhirclaim_examples"  # the package installed somewhere else
    elsewhere.mkdir(parents=True)
    (elsewhere / "__init__.py").write_text("")
    script = (f"import importlib.util, sys\n"
              f"spec = importlib.util.spec_from_file_location('fhirclaim.examples', {str(elsewhere / '__init__.py')!r},"
              f" submodule_search_locations=[{str(elsewhere)!r}])\n"
              f"sys.modules['fhirclaim.examples'] = importlib.util.module_from_spec(spec)\n"
              f"spec.loader.exec_module(sys.modules['fhirclaim.examples'])\n"
              f"from fhirclaim import demo\n"
              f"print(demo.EXAMPLES)\n")
    shown = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert Path(shown.stdout.strip()).resolve() == elsewhere.resolve()
