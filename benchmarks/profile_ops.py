"""Where the time of one FHIR create and of one claim through the pipeline goes: cProfile and SQL statement counts.

    python benchmarks/profile_ops.py [--creates 200] [--reads 0] [--claims 10] [--protocol 5.10] [--top 25]
                                     [--database-url URL]

Creates (not profiled with `--creates 0`; the warm-up still runs): the benchmark Claim of `store_throughput.py`,
POST /fhir/Claim in-process (WSGI test client, a facility token), after 200 warm-up creates. Reads (`--reads N`):
GET /fhir/Claim/<id> of those Claims, in-process the same
way (the WSGI app, not waitress). Claims (none with `--claims 0`): the example transactions of `pipeline.py`, each
written and then run through the pipeline on this thread against the embedded E-Klaim emulator (which is in the
profile too: its share is under `fhirclaim/eklaim/emulator` and `fhirclaim/inacbg`). Prints CPU ms per operation,
SQL statements and transactions (COMMITs) per operation (measured without the profiler), then, from as many more
operations under cProfile (CPU clock), the own time by file and the fhirclaim functions with the largest cumulative
share. SQLite in a temporary data dir, or the empty database `--database-url` names (whose server's own CPU is not
in the figures: only this process's).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline as pipeline_bench  # noqa: E402
from store_throughput import claim  # noqa: E402

from fhirclaim.app import create_app  # noqa: E402
from fhirclaim.config import Settings  # noqa: E402
from fhirclaim.runtime import Runtime  # noqa: E402
from fhirclaim.startup import freeze_startup_heap  # noqa: E402


class Statements:
    """Counts the SQL statements and commits of an engine while `on`."""

    def __init__(self, engine) -> None:
        self.on, self.kinds = False, Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda _: self._count("COMMIT"))
        if engine.dialect.name == "sqlite":  # the store's BEGIN goes to the driver directly (store/db.py)
            event.listen(engine, "begin", lambda _: self._count("BEGIN"))

    def _statement(self, _conn, _cursor, statement, *_):
        self._count(statement.split(None, 1)[0].upper())

    def _count(self, kind: str) -> None:
        if self.on:
            self.kinds[kind] += 1


def profile(label: str, count: int, one, statements: Statements, top: int, first: int = 0) -> None:
    """`count` (≥ 1) operations unprofiled (CPU per op, statements), then `count` more under cProfile (the shares)."""
    statements.kinds.clear()
    statements.on = True
    started = time.process_time()
    for n in range(first, first + count):
        one(n)
    cpu = (time.process_time() - started) / count
    statements.on = False
    total = sum(v for k, v in statements.kinds.items() if k != "COMMIT")
    print(f"\n== {label}: {cpu * 1e3:.2f} ms CPU per op, {total / count:.1f} SQL statements, "
          f"{statements.kinds['COMMIT'] / count:.1f} commits per op")
    print("   statements per op: " + ", ".join(f"{k} {v / count:.1f}" for k, v in statements.kinds.most_common()))
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
    profiler.enable()
    for n in range(first + count, first + 2 * count):
        one(n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    whole = sum(tottime for (_, _, tottime, _, _) in stats.stats.values())
    by_file: Counter = Counter()
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_file[_short(filename)] += tottime
    print("   own time by file (top): " + ", ".join(f"{name} {share / whole:.0%}"
                                                 for name, share in by_file.most_common(top)))
    print("   share of the operation's CPU (cumulative, under cProfile), calls per op:")
    rows = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)
    shown = 0
    for (filename, line, name), (_, calls, _, cumtime, _) in rows:
        if "fhirclaim" not in filename or shown >= top:
            continue
        shown += 1
        print(f"   {cumtime / whole:6.1%}  {calls / count:6.1f}×  {_short(filename)}:{line} {name}")


def _short(filename: str) -> str:
    for marker in ("fhirclaim/", "site-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--reads", type=int, default=0)
    parser.add_argument("--claims", type=int, default=10)
    parser.add_argument("--protocol", choices=("5.10", "5.1"), default="5.10")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "data").mkdir(mode=0o700)
        runtime = Runtime(Settings(data_dir=Path(directory) / "data", run_worker=False,
                                   database_url=args.database_url, public_base_url=pipeline_bench.BASE,
                                   eklaim_protocol=args.protocol))
        freeze_startup_heap()  # as `fhirclaim serve` does before it serves
        statements = Statements(runtime.database.engine)
        try:
            client = create_app(runtime=runtime).test_client()
            client_id, _ = runtime.clients.add_client("facility", "10000004", "profile")
            token = runtime.clients.issue(runtime.clients.principal_of(client_id)).access_token
            headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
            for resource in ({"resourceType": "Organization", "id": "rs", "name": "RSUD"},
                             {"resourceType": "Patient", "id": "p0", "gender": "female"},
                             {"resourceType": "Coverage", "id": "cov", "status": "active",
                              "beneficiary": {"reference": "Patient/p0"}, "payor": [{"reference": "Organization/rs"}]}):
                client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", data=json.dumps(resource),
                           headers=headers)

            def create(n: int) -> None:
                answer = client.post("/fhir/Claim", data=json.dumps(claim(n, "p0")), headers=headers)
                assert answer.status_code == 201, answer.get_data(as_text=True)
                created.append(answer.get_json()["id"])

            created: list[str] = []

            for n in range(200):
                create(100_000 + n)
            if args.creates:
                profile("one FHIR create (POST /fhir/Claim)", args.creates, create, statements, args.top)

            def read(n: int) -> None:
                answer = client.get(f"/fhir/Claim/{created[n % len(created)]}", headers=headers)
                assert answer.status_code == 200, answer.get_data(as_text=True)

            if args.reads:
                for n in range(200):
                    read(n)
                profile("one FHIR read (GET /fhir/Claim/<id>)", args.reads, read, statements, args.top)
            if not args.claims:
                return

            def one_claim(n: int) -> None:
                bundle, _ = pipeline_bench.claim_bundle(n)
                pipeline_bench.write_claim(runtime, bundle)
                while runtime.pipeline.run_next("profile") is not None:
                    pass

            one_claim(10_000)  # warm-up: grouper tables, emulator
            profile(f"one claim (transaction write + pipeline, E-Klaim {args.protocol} in process)", args.claims,
                    one_claim, statements, args.top, first=1)
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
