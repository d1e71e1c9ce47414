"""The package import graph of `fhirclaim/`: which package imports which, and the cycles among them.

    python tools/import_graph.py            # arrows "a -> b (n imports)", then the cycles
    python tools/import_graph.py --dot      # the same graph in Graphviz dot

A package is the first name under `fhirclaim.` (`fhirclaim.claims.pipeline` is `claims`); top-level modules
(`runtime.py`, `cli.py`, …) are packages of their own. Imports inside functions count too: a deferred import is still
a dependency. Only `import` statements are read (ast), nothing is imported.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "fhirclaim"


def package_of(module: str) -> str | None:
    """`fhirclaim.claims.pipeline` -> `claims`; anything outside the project -> None."""
    parts = module.split(".")
    if parts[0] != "fhirclaim" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def package_edges(root: Path = ROOT) -> Counter[tuple[str, str]]:
    """(from package, to package) -> how many import statements make that arrow."""
    edges: Counter[tuple[str, str]] = Counter()
    for path in sorted(root.rglob("*.py")):
        source = package_of(module_name(path))
        if source is None:
            continue
        targets = {package_of(name) for name in imported_modules(path)}
        for target in targets - {None, source}:
            edges[(source, target)] += 1
    return edges


def cycles(edges: Counter[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="print Graphviz dot instead of text")
    args = parser.parse_args()
    edges = package_edges()
    if args.dot:
        print("digraph fhirclaim {")
        for (a, b), n in sorted(edges.items()):
            print(f'  "{a}" -> "{b}" [label={n}];')
        print("}")
        return
    for (a, b), n in sorted(edges.items()):
        print(f"{a} -> {b} ({n})")
    found = cycles(edges)
    print(f"packages={len({p for e in edges for p in e})} arrows={len(edges)} cycles={len(found)}")
    for component in found:
        print("cycle: " + " <-> ".join(component))


if __name__ == "__main__":
    main()
