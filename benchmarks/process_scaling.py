"""Server processes: FHIR create and read throughput of ours under granian with 1 and 2 worker processes.

    python benchmarks/process_scaling.py --database-url postgresql+psycopg://… [--processes 1,2] [--threads 4]
                                         [--stored 300] [--ops 400] [--rounds 2] [--served-by granian|gunicorn]

Ours is served as the README's production section and the image say: `granian --interface wsgi --factory --workers N
--blocking-threads 8 fhirclaim.app:create_app` (`pip install ".[production]"`; or gunicorn, `--workers N --threads 8`,
with `--served-by gunicorn`) with `FHIRCLAIM_RUN_WORKER=false`, on PostgreSQL (SQLite has one writer: several
processes are for PostgreSQL). For each process count a fresh schema is not needed: every run creates its own Claims.
One Python client (`--threads` threads, a keep-alive session each, the `benchmarks/peer_crud.py` driver and Claim)
runs `--rounds` blocks of `--ops` operations per process count, alternated (1, 2, 1, 2 …) so that the machine's load
falls on both alike. Prints, per operation and process count, throughput (ops/s of wall time), server CPU ms per op
(the server's main process and workers, from /proc), the ratio of throughput to one process, and the machine's CPU ms
per op (every process: server, PostgreSQL, the client; from /proc/stat) with the ceiling it sets: cores / machine CPU
per op is the most ops/s any number of server processes could reach on this machine (`peer_crud.ceiling`), so "of
ceiling" on one process's line (its throughput's share of that ceiling) bounds what more processes can add: 1 / that
share.
Asserts only the status codes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_crud  # noqa: E402


def machine_busy() -> float:
    """CPU seconds every core of this machine has spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / peer_crud.TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="PostgreSQL: postgresql+psycopg://…")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--stored", type=int, default=300, help="Claims each server writes before measuring")
    parser.add_argument("--ops", type=int, default=400, help="operations per block")
    parser.add_argument("--rounds", type=int, default=2, help="blocks per operation and process count")
    parser.add_argument("--served-by", choices=("granian", "gunicorn"), default="granian")
    args = parser.parse_args()
    if importlib.util.find_spec(args.served_by) is None:
        parser.error(f"{args.served_by} is not installed: pip install {args.served_by}")
    counts = [int(n) for n in args.processes.split(",")]
    driver = peer_crud.Driver()
    figures: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        servers = []
        try:
            for count in counts:  # one data dir each: the same database, each its own signing keys and secret key
                servers.append(peer_crud.start_ours(Path(directory) / f"data-{count}", args.database_url,
                                                    args.served_by, count,
                                                    name=f"{count} process{'es' if count > 1 else ''}"))
            import random
            for server in servers:
                session, rng = requests.Session(), random.Random(1)
                for _ in range(args.stored):
                    driver.create(server, session, rng)
            for name in ("create", "read"):
                for round_number in range(args.rounds):
                    for count, server in zip(counts, servers, strict=True):
                        busy = machine_busy()
                        cpu, wall, _ = peer_crud.block(server, getattr(driver, name), args.ops, args.threads,
                                                       round_number)
                        figures.setdefault((name, count), []).append((cpu, wall, machine_busy() - busy))
                        print(f"{name} {server.name}: {args.ops / wall:.0f} ops/s", file=sys.stderr, flush=True)
        finally:
            for server in servers:
                server.stop()
    print(f"ours under {args.served_by} on PostgreSQL, {args.threads} client threads, {args.rounds}×{args.ops} ops per "
          f"line, process counts alternated; {os.cpu_count()} CPU cores on this machine (client and PostgreSQL "
          f"included)")
    print(f"{'operation':<10}{'processes':>10}{'ops/s':>8}{'CPU ms/op':>11}{'vs 1':>7}{'machine ms/op':>15}"
          f"{'ceiling ops/s':>15}{'of ceiling':>12}")
    for name in ("create", "read"):
        first = None
        for count in counts:
            runs = figures[(name, count)]
            per_s = args.ops * len(runs) / sum(wall for _, wall, _ in runs)
            cpu_ms = statistics.fmean(cpu for cpu, _, _ in runs) / args.ops * 1000
            machine_ms = statistics.fmean(busy for _, _, busy in runs) / args.ops * 1000
            ceiling = peer_crud.ceiling(machine_ms)
            first = first or per_s
            print(f"{name:<10}{count:>10}{per_s:>8.0f}{cpu_ms:>11.2f}{per_s / first:>6.2f}×{machine_ms:>15.2f}"
                  f"{ceiling:>15.0f}{per_s / ceiling:>12.0%}")


if __name__ == "__main__":
    main()
