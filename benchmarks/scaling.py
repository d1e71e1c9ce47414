"""Cost with size: create, read, search by identifier and enqueue at 1k, 10k and 100k stored Claims.

    python benchmarks/scaling.py [--sizes 1000,10000,100000] [--samples 300] [--rounds 6] [--database-url URL]

One store per size, side by side in this process, each built the same way. The first 1,000 Claims are written
through the FHIR REST stack (in-process WSGI, an authenticated facility client: validation, index, audit, pipeline
job — the worker is off, so every Claim's job stays queued, as in a backlog). Beyond that, rows are bulk-written in
SQL: each round copies the first 1,000 Claims (resource, version, search index rows, the audit table's rows, their
queued jobs) under new ids and new identifier values, so the tables grow as a real store's would. The server keeps
running while rows are added (what it does about statistics it must do by itself).

The sizes are then measured in alternated blocks (A B C, B C A, C A B, …: `--rounds` rounds, each block
`--samples` / `--rounds` operations of each kind per size), so that a change in the machine's load meets every
size alike; measured one size after the other, a busy minute moved one size's figure and so the ratio. Each
operation on fresh ids:

- create: POST /fhir/Claim (a new Claim; writes its job too);
- read: GET /fhir/Claim/<random stored id>;
- search: GET /fhir/Claim?identifier=<system>|<random stored value> (exactly one hit);
- enqueue: `JobQueue.enqueue` of a new claim's job in its own committed unit of work.

Prints the median CPU ms (this process: the server and SQLite run in it, so a busy machine moves it little) and the
median wall ms per operation at each size over all its blocks, each with its ratio to the first size, and the
ratio's range over the rounds (each round's own medians); asserts nothing but the answers' status codes and
search totals. With `--database-url` (a PostgreSQL server) each size gets a database of its own, created on that
server and dropped after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData, Table, case, insert, literal, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from facade_overhead import database_of  # noqa: E402  (a database per size on a PostgreSQL server)
from store_throughput import SYSTEM, claim  # noqa: E402  (the benchmark Claim)

from fhirclaim.app import create_app  # noqa: E402
from fhirclaim.config import Settings  # noqa: E402
from fhirclaim.runtime import Runtime  # noqa: E402
from fhirclaim.store.jobs import JobQueue  # noqa: E402

SEED = 1000
SHIFT = 10_000_000  # pk offset of each copy round


class Bench:
    """The running server (in-process WSGI) and what has been stored so far."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.client = create_app(runtime=runtime).test_client()
        client_id, _ = runtime.clients.add_client("facility", "10000004", "benchmark")
        token = runtime.clients.issue(runtime.clients.principal_of(client_id)).access_token
        self.write_headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
        self.read_headers = {"Authorization": f"Bearer {token}"}
        self.ids: list[str] = []  # (id, identifier value) of every stored benchmark Claim
        self.values: list[str] = []
        self.fresh = 900_000  # identifier numbers of the measured creates
        self.rounds = 0

    def put(self, resource: dict) -> None:
        answer = self.client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", data=json.dumps(resource),
                                 headers=self.write_headers)
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)

    def create(self, number: int) -> str:
        answer = self.client.post("/fhir/Claim", data=json.dumps(claim(number, f"p{number % 100}")),
                                  headers=self.write_headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()["id"]

    def seed(self) -> None:
        self.put({"resourceType": "Organization", "id": "rs", "name": "RSUD"})
        for n in range(100):
            self.put({"resourceType": "Patient", "id": f"p{n}", "gender": "female"})
        self.put({"resourceType": "Coverage", "id": "cov", "status": "active",
                  "beneficiary": {"reference": "Patient/p0"}, "payor": [{"reference": "Organization/rs"}]})
        for n in range(SEED):
            self.ids.append(self.create(n))
            self.values.append(f"CLM-{n:06d}")
        self.seed_ids = list(self.ids)

    def grow_to(self, size: int) -> None:
        while len(self.ids) < size:
            self.rounds += 1
            copy_round(self.runtime, self.seed_ids, self.rounds)
            suffix = f"-c{self.rounds}"
            self.ids += [i + suffix for i in self.seed_ids]
            self.values += [f"CLM-{n:06d}{suffix}" for n in range(SEED)]


def copy_round(runtime: Runtime, seed_ids: list[str], round_number: int) -> None:
    """Copy the seed Claims, their AuditEvents and their jobs under new ids (`-c<round>`) in one transaction."""
    engine = runtime.database.engine
    tables = MetaData()
    tables.reflect(engine)
    suffix, shift = f"-c{round_number}", SHIFT * round_number
    resource = tables.tables["resource"]
    with engine.begin() as connection:
        seed_pks = select(resource.c.pk).where(resource.c.resource_type == "Claim", resource.c.pk < SHIFT)
        _copy(connection, resource, resource.c.pk.in_(seed_pks), suffix, shift)
        version = tables.tables["resource_version"]
        _copy(connection, version, (version.c.resource_type == "Claim") & version.c.logical_id.in_(
            select(resource.c.logical_id).where(resource.c.pk.in_(seed_pks))), suffix, shift)
        for name, table in tables.tables.items():
            if name.startswith("idx_"):
                _copy(connection, table, table.c.resource_pk.in_(seed_pks), suffix, shift)
        audit = tables.tables["audit_log"]  # the AuditEvents: one row each (store/audit_log.py)
        _copy(connection, audit, audit.c.pk < SHIFT, suffix, shift)
        jobs = tables.tables["claim_job"]
        _copy(connection, jobs, jobs.c.claim_id.in_(seed_ids), suffix, shift)


def _copy(connection, table: Table, where, suffix: str, shift: int) -> None:
    """INSERT … SELECT of the rows `where` selects, ids suffixed, pks shifted, identifier codes suffixed."""
    columns, values = [], []
    for column in table.columns:
        if column.primary_key and column.autoincrement is not False and column.name == "id":
            continue  # a new surrogate key
        columns.append(column.name)
        if column.name in ("pk", "resource_pk"):
            values.append(column + shift)
        elif column.name in ("logical_id", "claim_id"):
            values.append(column + literal(suffix))
        elif column.name == "code" and "param" in table.c:
            values.append(case((table.c.param == "identifier", column + literal(suffix)), else_=column))
        else:
            values.append(column)
    connection.execute(insert(table).from_select(columns, select(*values).where(where)))


def measure(bench: Bench, samples: int, rng: random.Random) -> dict[str, list[tuple[float, float]]]:
    """(CPU seconds, wall seconds) of each of `samples` calls of each operation at the bench's size."""
    def timed(call) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        call()
        return time.process_time() - cpu, time.perf_counter() - wall

    def create():
        bench.fresh += 1
        bench.create(bench.fresh)

    def read():
        answer = bench.client.get(f"/fhir/Claim/{rng.choice(bench.ids)}", headers=bench.read_headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)

    def search():
        value = rng.choice(bench.values)
        answer = bench.client.get(f"/fhir/Claim?identifier={SYSTEM}|{value}", headers=bench.read_headers)
        assert answer.status_code == 200 and answer.get_json()["total"] == 1, (value, answer.get_data(as_text=True))

    def enqueue():
        bench.fresh += 1
        with bench.runtime.store.unit_of_work() as uow:
            JobQueue(uow.session).enqueue(f"bench-{bench.fresh}", 1, "10000004", "submit")

    return {name: [timed(call) for _ in range(samples)]
            for name, call in (("create", create), ("read", read), ("search by identifier", search),
                               ("enqueue", enqueue))}


def build(size: int, directory: Path, database_url: str | None) -> Bench:
    """A running server whose store holds `size` Claims (module docstring)."""
    (directory / "data").mkdir(mode=0o700)
    bench = Bench(Runtime(Settings(data_dir=directory / "data", database_url=database_url, run_worker=False)))
    bench.seed()
    bench.grow_to(size)
    measure(bench, 10, random.Random(size))  # warm the caches of this size
    print(f"built: {len(bench.ids):,} Claims", file=sys.stderr, flush=True)
    return bench


def median_ms(samples: list[tuple[float, float]], column: int) -> float:
    return statistics.median(sample[column] for sample in samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=300, help="operations of each kind per size, in all")
    parser.add_argument("--rounds", type=int, default=6, help="alternated blocks per size")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server, a database made on it per size (default: SQLite in a temp dir)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    per_block = max(1, args.samples // args.rounds)
    rng = random.Random(7)
    samples: dict[int, dict[str, list[tuple[float, float]]]] = {size: {} for size in sizes}
    by_round: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}  # each round's median CPU ms
    with contextlib.ExitStack() as stack:
        benches = {}
        for size in sizes:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            database_url = stack.enter_context(database_of(f"scaling_{size}", args.database_url))
            benches[size] = bench = build(size, directory, database_url)
            stack.callback(bench.runtime.close)
        for number in range(args.rounds):
            for size in sizes[number % len(sizes):] + sizes[:number % len(sizes)]:  # A B C, B C A, C A B, …
                block = measure(benches[size], per_block, rng)
                by_round[size].append({name: median_ms(values, 0) for name, values in block.items()})
                for name, values in block.items():
                    samples[size].setdefault(name, []).extend(values)
            print(f"round {number + 1} of {args.rounds} measured", file=sys.stderr, flush=True)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}, {args.rounds} rounds of alternated blocks, {per_block} operations each per size")
    for column, label in ((0, "CPU"), (1, "wall")):
        print(f"median {label} ms per operation (ratio to {sizes[0]:,} Claims)")
        print(f"{'operation':<22}" + "".join(f"{size:>18,}" for size in sizes))
        for name in samples[sizes[0]]:
            first = median_ms(samples[sizes[0]][name], column)
            cells = (median_ms(samples[size][name], column) for size in sizes)
            print(f"{name:<22}" + "".join(f"{cell:>9.2f} ({cell / first:>4.1f}×)" for cell in cells))
    print(f"CPU ratio to {sizes[0]:,} Claims, lowest–highest of the rounds' own medians")
    for name in samples[sizes[0]]:
        ranges = []
        for size in sizes[1:]:
            ratios = [later[name] / first[name] for first, later in zip(by_round[sizes[0]], by_round[size],
                                                                          strict=True)]
            ranges.append(f"{size:>,}: {min(ratios):.2f}–{max(ratios):.2f}×")
        print(f"{name:<22}" + "   ".join(ranges))


if __name__ == "__main__":
    main()
