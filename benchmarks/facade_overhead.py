"""Facade overhead: CPU per claim of the claim pipeline vs the bare E-Klaim calls it makes, same emulator.

    python benchmarks/facade_overhead.py [--claims 20] [--protocol 5.10|5.1] [--modes in-process,http]
                                         [--database-url postgresql+psycopg://USER@HOST/DB]

For each mode, `--claims` example claims (cases 01–04, round robin, as `benchmarks/pipeline.py` writes them) are
written one at a time as a SIMRS transaction and then run through the pipeline to the signed Bundle on this thread
(no worker threads, no waits). Every ws.php message the pipeline sends is recorded (plaintext, before encryption).
After each claim, the *bare sequence* — the same messages of the state-changing methods (new_claim →
set_claim_data → … → claim_final → send_claim_individual; the pipeline's read-backs such as get_claim_data are
facade work and are left out) — is replayed through a plain `EKlaimClient` against a second, fresh emulator of the
same kind, so pipeline and bare alternate claim by claim (A B A B) and share the machine's load alike.

CPU is `time.process_time()` of this process plus, over HTTP, the emulator process's CPU from `/proc/<pid>/stat`
(the in-process emulator's CPU is inside this process already). One warm-up claim (pipeline and bare) per mode is
not counted. Once the Runtime and the bare client are made, the start-up heap is frozen
(`startup.freeze_startup_heap`), as `fhirclaim serve` and `fhirclaim worker` freeze theirs. "ratio" is pipeline /
bare; "+write" adds the SIMRS transaction that carries the claim in. "emulator" is the part of "bare" the emulator
itself spends answering (the HTTP emulator's process CPU, or the in-process emulator's calls timed on this thread's
CPU clock), and "own" the ratio without the emulator on either side: (pipeline − its emulator's CPU) / (bare − its
emulator's CPU), the facade's own CPU per claim against what a plain client of the same calls spends itself. Our
emulator is most of "bare", so "ratio" is as much a figure of its cost as of the facade's; "own" is not. Prints
figures; asserts nothing but that the bare replay answers 200 to every call.

The pipeline's store is SQLite in a temporary directory, or with `--database-url` a PostgreSQL server: each mode
gets a database of its own, created on that server (from the URL's credentials) and dropped after it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline as pipeline_bench  # noqa: E402  (benchmarks/pipeline.py: the example claims, the emulator process)

from fhirclaim.config import Settings  # noqa: E402
from fhirclaim.eklaim import EKlaimClient, HttpTransport, InProcessTransport  # noqa: E402
from fhirclaim.eklaim.emulator.app import EmulatorApp  # noqa: E402
from fhirclaim.runtime import Runtime  # noqa: E402
from fhirclaim.sandbox import SandboxEKlaim  # noqa: E402
from fhirclaim.startup import freeze_startup_heap  # noqa: E402

READ_ONLY = {"get_claim_data", "get_claim_status", "claim_print", "idrg_diagnosa_get", "idrg_procedure_get",
             "inacbg_diagnosa_get", "inacbg_procedure_get", "pull_claim"}
@contextmanager
def recording(messages: list[tuple[str, dict]]):
    """Every message any EKlaimClient exchanges, appended to `messages` as plaintext JSON."""
    original = EKlaimClient._exchange

    def exchange(self, method, message):
        messages.append((method, json.loads(json.dumps(message))))
        return original(self, method, message)

    EKlaimClient._exchange = exchange
    try:
        yield
    finally:
        EKlaimClient._exchange = original


_IN_PROCESS_EMULATOR = [0.0]  # CPU seconds of the in-process emulators' calls on this thread (`timing_emulators`)


@contextmanager
def timing_emulators():
    """Every in-process emulator call (`EmulatorApp.__call__`, which answers eagerly) timed by this thread's CPU
    clock, added to `_IN_PROCESS_EMULATOR`. The pipeline and the bare replay both run on this thread."""
    original = EmulatorApp.__call__

    def timed(self, environ, start_response):
        started = time.thread_time()
        try:
            return original(self, environ, start_response)
        finally:
            _IN_PROCESS_EMULATOR[0] += time.thread_time() - started

    EmulatorApp.__call__ = timed
    try:
        yield
    finally:
        EmulatorApp.__call__ = original


class EmulatorMeter(pipeline_bench.Meter):
    """The emulator's CPU seconds inside its `with` blocks: an HTTP emulator's process (`pid`), or the in-process
    emulators' calls (`timing_emulators`)."""

    def _cpu(self) -> float:
        return sum(map(pipeline_bench.process_cpu, self.other_pids)) if self.other_pids else _IN_PROCESS_EMULATOR[0]


class Bare:
    """A plain EKlaimClient on a fresh emulator of the mode's kind: it replays the pipeline's messages."""

    def __init__(self, mode: str, directory: Path, protocol: str) -> None:
        self.emulator = pipeline_bench.EmulatorProcess(directory, protocol) if mode == "http" else None
        if self.emulator:
            self.client = EKlaimClient(HttpTransport(self.emulator.url), self.emulator.key, protocol=protocol)
            self.pid = self.emulator.process.pid
        else:
            sandbox = SandboxEKlaim(directory, protocol=protocol)
            sandbox.register_coder(*pipeline_bench.CODER.split(":", 1))
            self.client = EKlaimClient(InProcessTransport(sandbox.app), sandbox.key, protocol=protocol)
            self.pid = None

    def replay(self, messages: list[tuple[str, dict]]) -> None:
        for method, message in messages:
            if method in READ_ONLY:
                continue
            code = self.client._exchange(method, message)["metadata"].get("code")
            if str(code) != "200":
                raise RuntimeError(f"bare replay: {method} answered {code}")

    def close(self) -> None:
        if self.emulator:
            self.emulator.stop()


@contextmanager
def database_of(mode: str, server_url: str | None) -> Iterator[str | None]:
    """None (SQLite in the data dir), or a fresh database for this mode on the `--database-url` server."""
    if server_url is None:
        yield None
        return
    url = make_url(server_url)
    name = f"fhirclaim_facade_{mode.replace('-', '_')}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_mode(mode: str, pipe_dir: Path, bare_dir: Path, args, database_url: str | None) -> dict[str, float]:
    """Per claim, alternated: the pipeline (write, then run), then the bare replay of its messages. CPU per claim
    of each, and the state-changing calls per claim."""
    emulator = pipeline_bench.EmulatorProcess(pipe_dir, args.protocol) if mode == "http" else None
    settings = Settings(data_dir=pipe_dir / "data", run_worker=False, public_base_url=pipeline_bench.BASE,
                        eklaim_protocol=args.protocol, database_url=database_url,
                        **({"eklaim_url": emulator.url, "eklaim_key": emulator.key} if emulator else {}))
    runtime, bare = Runtime(settings), Bare(mode, bare_dir, args.protocol)
    freeze_startup_heap()  # as `fhirclaim serve` and `fhirclaim worker` do before their first request or job
    pid = emulator.process.pid if emulator else None
    writes, jobs, replays = pipeline_bench.Meter(pid), pipeline_bench.Meter(pid), pipeline_bench.Meter(bare.pid)
    jobs_emulator, replays_emulator = EmulatorMeter(pid), EmulatorMeter(bare.pid)
    calls = 0
    try:
        for number in range(args.claims + 1):  # claim 0 warms both up and is not counted
            messages: list[tuple[str, dict]] = []
            with recording(messages), timing_emulators():
                unmetered = (pipeline_bench.Meter(None), pipeline_bench.Meter(None), EmulatorMeter(None))
                one_claim(runtime, number, *((writes, jobs, jobs_emulator) if number else unmetered))
            with timing_emulators(), (replays if number else pipeline_bench.Meter(None)), \
                    (replays_emulator if number else EmulatorMeter(None)):
                bare.replay(messages)
            calls += sum(1 for method, _ in messages if method not in READ_ONLY) if number else 0
    finally:
        runtime.close()
        bare.close()
        if emulator:
            emulator.stop()
    return {"write": writes.total / args.claims, "pipeline": jobs.total / args.claims,
            "bare": replays.total / args.claims, "calls": calls / args.claims,
            "pipeline_emulator": jobs_emulator.total / args.claims,
            "bare_emulator": replays_emulator.total / args.claims}


def one_claim(runtime: Runtime, number: int, writes: pipeline_bench.Meter, jobs: pipeline_bench.Meter,
              emulator: EmulatorMeter) -> None:
    bundle, claim_id = pipeline_bench.claim_bundle(number)
    with writes:
        pipeline_bench.write_claim(runtime, bundle)
    with jobs, emulator:
        while runtime.pipeline.run_next("bench") is not None:
            pass
    with runtime.store.unit_of_work(write=False) as uow:
        if uow.resources.find("Bundle", pipeline_bench.derived_id("bundle", claim_id)) is None:
            raise RuntimeError(f"claim {claim_id} ended without a signed Bundle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--protocol", choices=("5.10", "5.1"), default="5.10")
    parser.add_argument("--modes", default="in-process,http")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"E-Klaim {args.protocol}, {store}, {args.claims} claims per run, CPU ms per claim (this process + "
          f"emulator)")
    print(f"{'mode':<12}{'calls/claim':>12}{'bare':>10}{'pipeline':>10}{'write':>10}{'ratio':>8}{'+write':>8}"
          f"{'emulator':>10}{'own':>8}")
    for mode in (m.strip() for m in args.modes.split(",")):
        with tempfile.TemporaryDirectory() as pipe_dir, tempfile.TemporaryDirectory() as bare_dir, \
                database_of(mode, args.database_url) as database_url:
            cpu = run_mode(mode, Path(pipe_dir), Path(bare_dir), args, database_url)
        bare, pipeline, write = cpu["bare"], cpu["pipeline"], cpu["write"]
        own = (pipeline - cpu["pipeline_emulator"]) / (bare - cpu["bare_emulator"])
        print(f"{mode:<12}{cpu['calls']:>12.1f}{bare * 1e3:>10.1f}{pipeline * 1e3:>10.1f}{write * 1e3:>10.1f}"
              f"{pipeline / bare:>7.1f}×{(pipeline + write) / bare:>7.1f}×{cpu['bare_emulator'] * 1e3:>10.1f}"
              f"{own:>7.1f}×", flush=True)

if __name__ == "__main__":
    main()
