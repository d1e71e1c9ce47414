"""The repository stands on its own: no file of it reads or points at material kept outside the checkout (a folder
beside it, a specification that does not ship). Tests take their data from tests/fixtures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from testkit import FIXTURES, REPO_ROOT

# Built from pieces so that this file does not name what it looks for.
_SIBLING = "shared"
NEEDLES = ("../" + _SIBLING, _SIBLING + "/reference", _SIBLING + "/seeds", "SPEC" + ".md")
# The same folder joined as path parts in code: Path(...) / "<sibling>" / "reference".
PATH_JOIN = re.compile(r"""["']""" + _SIBLING + r"""["']\s*/\s*["'](?:reference|seeds)["']""")
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".venv", "venv", "build",
                "dist", "node_modules"}


def repository_files() -> list[Path]:
    """The files of the repository: what git tracks (plus new files it does not ignore), or, without git, every file
    of the checkout outside .git and caches."""
    if shutil.which("git") and (REPO_ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO_ROOT, capture_output=True, check=True).stdout
        names = sorted({name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name})
        return [REPO_ROOT / name for name in names if (REPO_ROOT / name).is_file()]
    found = []
    for folder, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        found += [Path(folder) / name for name in files if not name.endswith((".pyc", ".pyo"))]
    return sorted(found)


def outside_pointers(path: Path) -> list[str]:
    """`line: text` for each line of `path` that names a folder beside the checkout or the unshipped spec."""
    text = path.read_bytes().decode("utf-8", "replace")
    return [f"{number}: {line.strip()[:160]}" for number, line in enumerate(text.splitlines(), 1)
            if any(needle in line for needle in NEEDLES) or PATH_JOIN.search(line)]


def test_the_walk_sees_the_repository():
    files = {path.relative_to(REPO_ROOT).as_posix() for path in repository_files()}
    assert {"pyproject.toml", "tests/testkit.py", "tests/test_self_contained.py", "tests/fixtures/SOURCES.md"} <= files
    assert not any(name.startswith(".git/") for name in files)


def test_the_checker_finds_what_it_looks_for(tmp_path):
    for text in ("data in ../" + _SIBLING + "/x", "see " + _SIBLING + "/reference/eklaim", "SPEC" + ".md §7",
                 "ROOT.parent / '" + _SIBLING + "' / 'seeds'"):
        (tmp_path / "probe.txt").write_text(f"first line\n{text}\n")
        assert outside_pointers(tmp_path / "probe.txt") == [f"2: {text}"]
    (tmp_path / "probe.txt").write_text("a shared Organization; reference data in tests/fixtures\n")
    assert outside_pointers(tmp_path / "probe.txt") == []


def test_no_file_points_outside_the_repository():
    offenders = {path.relative_to(REPO_ROOT).as_posix(): lines for path in repository_files()
                 if (lines := outside_pointers(path))}
    assert not offenders, "files that point outside the repository:\n" + "\n".join(
        f"  {name}\n" + "\n".join(f"    {line}" for line in lines) for name, lines in offenders.items())


def test_every_fixture_says_where_it_comes_from():
    """tests/fixtures/SOURCES.md names every file of tests/fixtures (by its path under it)."""
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    files = [path.relative_to(FIXTURES).as_posix() for path in FIXTURES.rglob("*")
             if path.is_file() and path.name != "SOURCES.md" and "__pycache__" not in path.parts]
    assert files
    folders = {name.rsplit("/", 1)[0] + "/" for name in files if "/" in name}
    unnamed = [name for name in files if f"`{name}`" not in sources
               and not any(f"`{folder}*" in sources and name.startswith(folder) for folder in folders)]
    assert not unnamed, f"not in tests/fixtures/SOURCES.md: {unnamed}"
