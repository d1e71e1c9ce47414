"""Cost with size: create, read, search by identifier and enqueue at 1k, 10k and 100k stored Claims.

    python benchmarks/scaling.py [--sizes 1000,10000,100000] [--samples 300] [--database-url URL]

One store grows through the sizes. The first 1,000 Claims are written through the FHIR REST stack (in-process
WSGI, an authenticated facility client: validation, index, audit, pipeline job — the worker is off, so every
Claim's job stays queued, as in a backlog). Beyond that, rows are bulk-written in SQL: each round copies the first
1,000 Claims (resource, version, search index rows, the audit table's rows, their queued jobs) under new ids and new
identifier values, so the tables grow as a real store's would. The server keeps running while rows are added (what
it does about statistics it must do by itself). At each size it measures, on fresh ids:

- create: POST /fhir/Claim (a new Claim; writes its job too);
- read: GET /fhir/Claim/<random stored id>;
- search: GET /fhir/Claim?identifier=<system>|<random stored value> (exactly one hit);
- enqueue: `JobQueue.enqueue` of a new claim's job in its own committed unit of work.

Prints the median CPU ms (this process: the server and SQLite run in it, so a busy machine moves it little) and the
median wall ms per operation at each size, each with its ratio to the first size; asserts nothing but the answers'
status codes and search totals.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData, Table, case, insert, literal, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def measure(bench: Bench, samples: int, rng: random.Random) -> dict[str, tuple[float, float]]:
    """(median CPU ms, median wall ms) of each operation at the current size."""
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

    figures = {}
    for name, call in (("create", create), ("read", read), ("search by identifier", search), ("enqueue", enqueue)):
        for _ in range(10):
            call()  # warm the caches of this size
        cpu, wall = zip(*(timed(call) for _ in range(samples)), strict=True)
        figures[name] = statistics.median(cpu) * 1e3, statistics.median(wall) * 1e3
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = random.Random(7)
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "data").mkdir(mode=0o700)
        runtime = Runtime(Settings(data_dir=Path(directory) / "data", database_url=args.database_url,
                                   run_worker=False))
        try:
            bench = Bench(runtime)
            bench.seed()
            for size in sizes:
                bench.grow_to(size)
                results[size] = measure(bench, args.samples, rng)
                print(f"{len(bench.ids):,} Claims: " + ", ".join(f"{k} {cpu:.2f} ms CPU, {wall:.2f} ms wall"
                                                              for k, (cpu, wall) in results[size].items()),
                      file=sys.stderr, flush=True)
        finally:
            runtime.close()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    for column, label in ((0, "CPU"), (1, "wall")):
        print(f"{backend}, median {label} ms per operation (ratio to {sizes[0]:,} Claims)")
        print(f"{'operation':<22}" + "".join(f"{size:>18,}" for size in sizes))
        for name in results[sizes[0]]:
            first = results[sizes[0]][name][column]
            cells = (results[size][name][column] for size in sizes)
            print(f"{name:<22}" + "".join(f"{cell:>9.2f} ({cell / first:>4.1f}×)" for cell in cells))


if __name__ == "__main__":
    main()
