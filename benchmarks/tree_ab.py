"""Two source trees of fhirclaim side by side: server CPU per FHIR operation under waitress, blocks alternated.

    python benchmarks/tree_ab.py BEFORE_TREE AFTER_TREE [--operation read] [--ops 300] [--rounds 11] [--threads 1]
                                 [--database-url URL]

Each tree (a checkout or a `git archive` of one) is started as `fhirclaim serve` from its own directory with
PYTHONPATH pointing at it (`python -m` puts the working directory first on sys.path, so both are needed), in
the way `peer_crud.py` starts ours, with 300 Claims stored: on SQLite in its own data dir, or with
`--database-url` (a PostgreSQL server) on a database of its own, made on that server and dropped after. Rounds
alternate the order (A B, B A, …); the first round is a warm-up and is not counted. Prints each tree's server CPU
per operation (user + system of its process; PostgreSQL's own is not in it), its throughput (operations per second
of wall time) and the ratios after / before. On a shared, loaded machine this pairing is steadier than two separate
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
    parser.add_argument("--rounds", type=int, default=11, help="rounds of one block per tree (the first is warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server, a database made on it per tree (default: SQLite in a temp dir)")
    args = parser.parse_args()
    driver = peer_crud.Driver()
    servers = []
    with tempfile.TemporaryDirectory() as data_dir, contextlib.ExitStack() as databases:
        try:
            for index, tree in enumerate((args.before.resolve(), args.after.resolve())):
                database_url = databases.enter_context(database_of(f"tree_ab_{index}", args.database_url))
                os.environ["PYTHONPATH"] = str(tree)
                os.chdir(tree)
                server = peer_crud.start_ours(Path(data_dir) / f"data{index}", database_url)
                server.name = str(tree)
                servers.append(server)
                session, rng = requests.Session(), random.Random(1)
                for _ in range(300):
                    driver.create(server, session, rng)
            totals = {server.name: [0.0, 0, 0.0] for server in servers}  # CPU s, operations, wall s
            for round_number in range(args.rounds):
                for server in servers if round_number % 2 == 0 else servers[::-1]:
                    cpu, wall, latencies = peer_crud.block(server, getattr(driver, args.operation), args.ops,
                                                           args.threads, round_number)
                    if round_number:
                        totals[server.name][0] += cpu
                        totals[server.name][1] += len(latencies)
                        totals[server.name][2] += wall
        finally:
            for server in servers:
                server.stop()
    before, after = (totals[server.name][0] / totals[server.name][1] * 1e3 for server in servers)
    rate_before, rate_after = (totals[server.name][1] / totals[server.name][2] for server in servers)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.operation} ×{args.threads}, {backend}, {args.rounds - 1}×{args.ops} per tree, blocks alternated:")
    print(f"  before {before:.3f} ms CPU per op, {rate_before:.0f} ops/s  ({servers[0].name})")
    print(f"  after  {after:.3f} ms CPU per op, {rate_after:.0f} ops/s  ({servers[1].name})")
    print(f"  after / before {after / before:.2f} (CPU), {rate_after / rate_before:.2f} (ops/s)")


if __name__ == "__main__":
    main()
