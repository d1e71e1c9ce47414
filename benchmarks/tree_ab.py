"""Two source trees of fhirclaim side by side: server CPU per FHIR operation under waitress, blocks alternated.

    python benchmarks/tree_ab.py BEFORE_TREE AFTER_TREE [--operation read] [--ops 300] [--rounds 9] [--threads 1]
                                 [--database-url URL]

Each tree (a checkout or a `git archive` of one) is started twice as `fhirclaim serve` from its own directory with
PYTHONPATH pointing at it (`python -m` puts the working directory first on sys.path, so both are needed), in
the way `peer_crud.py` starts ours, with 300 Claims stored: on SQLite in its own data dir, or with
`--database-url` (a PostgreSQL server) on a database of its own, made on that server and dropped after. The four
servers start in the order A B B A. Two processes of one tree differ by a few per cent in CPU per operation (each
process's own memory layout): with one server per tree, two copies of the same tree measured 0.93, 0.96 and 0.99,
which read as a gain of the second; with two each, 1.05 and 1.01. A ratio within ~5 % of 1 is noise.

Each round runs one block on every server, its order turned by one from the last round's (A B B A, B B A A, …);
the first round is a warm-up and is not counted. Prints each tree's server CPU per operation (user + system of its
two processes; PostgreSQL's own is not in it) with each server's own, its throughput (operations per second of
wall time) and the ratios after / before. On a shared, loaded machine this pairing is steadier than two separate
`peer_crud.py` runs, whose blocks are a second long and swing by a third from one run to the next.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_crud  # noqa: E402
from facade_overhead import database_of  # noqa: E402  (a database per tree on a PostgreSQL server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--operation", choices=("create", "read", "search"), default="read")
    parser.add_argument("--ops", type=int, default=300, help="operations per block")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of one block per server (the first is warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server, a database made on it per tree (default: SQLite in a temp dir)")
    args = parser.parse_args()
    driver = peer_crud.Driver()
    trees = (args.before.resolve(), args.after.resolve())
    servers = []
    with tempfile.TemporaryDirectory() as data_dir, contextlib.ExitStack() as databases:
        try:
            for index, tree in enumerate((trees[0], trees[1], trees[1], trees[0])):  # A B B A: see the docstring
                database_url = databases.enter_context(database_of(f"tree_ab_{index}", args.database_url))
                os.environ["PYTHONPATH"] = str(tree)
                os.chdir(tree)
                server = peer_crud.start_ours(Path(data_dir) / f"data{index}", database_url)
                servers.append(server)
                session, rng = requests.Session(), random.Random(1)
                for _ in range(300):
                    driver.create(server, session, rng)
            totals = [[0.0, 0, 0.0] for _ in servers]  # each server's CPU s, operations, wall s
            for round_number in range(args.rounds):
                for index in peer_crud.in_turn(list(range(len(servers))), round_number):
                    cpu, wall, latencies = peer_crud.block(servers[index], getattr(driver, args.operation),
                                                           args.ops, args.threads, round_number)
                    if round_number:
                        totals[index][0] += cpu
                        totals[index][1] += len(latencies)
                        totals[index][2] += wall
        finally:
            for server in servers:
                server.stop()
    cpu_ms = [cpu / operations * 1e3 for cpu, operations, _ in totals]

    def figures(indexes: tuple[int, int]) -> tuple[float, float]:
        cpu, operations, wall = (sum(totals[index][column] for index in indexes) for column in range(3))
        return cpu / operations * 1e3, operations / wall

    (before, rate_before), (after, rate_after) = figures((0, 3)), figures((1, 2))  # A B B A
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.operation} ×{args.threads}, {backend}, {args.rounds - 1}×{args.ops} per server, 2 servers per tree "
          f"(started A B B A), blocks alternated:")
    print(f"  before {before:.3f} ms CPU per op, {rate_before:.0f} ops/s  ({trees[0]}; its servers "
          f"{cpu_ms[0]:.3f}, {cpu_ms[3]:.3f})")
    print(f"  after  {after:.3f} ms CPU per op, {rate_after:.0f} ops/s  ({trees[1]}; its servers "
          f"{cpu_ms[1]:.3f}, {cpu_ms[2]:.3f})")
    print(f"  after / before {after / before:.2f} (CPU), {rate_after / rate_before:.2f} (ops/s)")


if __name__ == "__main__":
    main()
