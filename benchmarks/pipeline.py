"""End-to-end claim pipeline: claims per second and latency from the Claim write to its signed Bundle.

    python benchmarks/pipeline.py [--claims 1000] [--workers 2 | --worker-processes N] [--producers 4]
                                  [--modes in-process,http] [--database-url URL] [--protocol 5.10|5.1]

Each claim is one of the example cases 01–04 (outpatient, hip replacement with special CMG stage 2, class upgrade,
newborn; round robin) with its own patient, encounter, claim ids and SEP, written as a SIMRS writes it: one
transaction Bundle through the FHIR service (validation, the pipeline trigger, webhooks listener). Producer threads
each write a claim and wait until its job has ended (closed loop), `--producers` at a time, while `--workers`
pipeline worker threads (default 2; `fhirclaim serve` runs one) run the claim flow of `--protocol` (default 5.10:
precheck → new_claim → set_claim_data → idrg_diagnosa_set → idrg_procedure_set → grouper idrg → idrg_grouper_final →
idrg_to_inacbg_import → grouper inacbg → inacbg_grouper_final → claim_final → send_claim_individual → sign →
publish; 5.1: precheck → new_claim → set_claim_data → grouper → claim_final → send_claim_individual → sign →
publish). Both E-Klaims (embedded and served) speak `--protocol`. Latency = from the write's commit to the commit of
the signed Bundle; claims/s = claims / wall time of the whole run (writes included). CPU ms/claim = CPU time (user +
system) of this process, plus over HTTP the emulator process's (`/proc/<pid>/stat`), during the run, per claim;
cores = that CPU time / wall time: how much of the machine the run kept busy (one process's Python code runs on one
core at a time). DB CPU ms/claim = the PostgreSQL server's CPU per claim (its postmaster and the processes it runs,
from /proc), when it runs on this machine; "—" for SQLite or a server elsewhere. E-Klaim CPU ms/claim = the served
emulator process's part of CPU ms/claim (`http` mode; "—" in process, where it is inside this process's).

Two ceilings, in claims/s: what this machine's cores (`os.cpu_count()`) could give at most if nothing else ran and
every core were kept busy, cores × 1000 / CPU ms per claim. "ceiling claims/s" counts everything the run spent per
claim (CPU ms/claim + DB CPU ms/claim); "E-Klaim+DB ceiling" counts only the E-Klaim's and the database server's
(`http` mode, on SQLite or a PostgreSQL server on this machine): the most any facade could reach here against this
E-Klaim and database, were the facade, the SIMRS writes and the benchmark itself to cost nothing. A target above
that ceiling cannot be met on this machine by work on the facade.

Modes: `in-process` — the embedded sandbox E-Klaim (same process, the real encrypted protocol, no socket);
`http` — `fhirclaim eklaim-emulator` started as its own process (waitress) and reached over HTTP, as a hospital's
E-Klaim would be. SQLite in a temporary directory unless --database-url names an empty database (the modes use
different ids, so they can share it). The start-up heap is frozen once the Runtime is made, as `fhirclaim serve`
freezes its own (`startup.freeze_startup_heap`). One warm-up claim per mode is not counted. Prints figures, asserts
nothing.

`--worker-processes N` runs the pipeline as a deployment beside `fhirclaim serve` would: in N `fhirclaim worker`
processes on the same database and data directory (one pipeline worker each; with the embedded E-Klaim each has its
own on the shared data directory), woken on PostgreSQL by the NOTIFY of the commit that queued the job
(`store/notice_listener.py`), on SQLite by its datagram (`store/socket_notices.py`). This process then only writes
the claims, and a watcher thread learns which jobs ended: on PostgreSQL from a trigger the benchmark adds to the job
table for the run (NOTIFY of the claim's id as the job's end commits), on SQLite by reading the job table every 5 ms
(a latency is then late by up to that). CPU ms/claim and cores count every worker process too (not the PostgreSQL
server's). The first claim each worker process runs loads its keys and tables (only one warm-up claim is run): it
shows in the max.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import bindparam, select

from fhirclaim.claims.pipeline import derived_id
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.config import Settings
from fhirclaim.eklaim import crypto
from fhirclaim.interactions import transaction
from fhirclaim.runtime import Runtime
from fhirclaim.startup import freeze_startup_heap
from fhirclaim.store import commit_notices
from fhirclaim.store.jobs import DONE, FAILED, ClaimJobRow

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as when run as a script, also when imported

import peer_crud  # noqa: E402  (benchmarks/peer_crud.py: the machine's ceiling)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CASES = ("01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn")
CODER = "3171012345670001:Ani Rahmawati, A.Md.RMIK"  # Practitioner/coder-ani, the examples' enterer
BASE = "http://bench.local/fhir"


def claim_bundle(number: int) -> tuple[dict, str]:
    """Case `number % 4` as a transaction for patient and SEP `number`; (bundle, claim id)."""
    name = CASES[number % len(CASES)]
    text = (EXAMPLES / name / "transaction.json").read_text(encoding="utf-8")
    bundle = json.loads(text)
    claim = bundle["entry"][-1]["resource"]
    sep = claim["identifier"][0]["value"]
    prefix = claim["id"].split("-", 1)[0] + "-"
    text = text.replace(prefix, f"{prefix}b{number}-").replace(sep, sep[:-7] + f"{number:07d}")
    bundle = json.loads(text)
    return bundle, bundle["entry"][-1]["resource"]["id"]


class Completions:
    """The pipeline seen by the workers: the real one, telling the waiting producer when its claim's job ended."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.done: dict[str, tuple[threading.Event, list[float]]] = {}
        self._lock = threading.Lock()

    def expect(self, claim_id: str) -> tuple[threading.Event, list[float]]:
        with self._lock:
            return self.done.setdefault(claim_id, (threading.Event(), []))

    def run_next(self, worker: str, job_id: int | None = None):
        job = self.pipeline.run_next(worker, job_id)
        if job is not None:
            event, ended = self.expect(job.claim_id)
            ended.append(time.perf_counter())
            event.set()
        return job


TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int | str) -> list[str]:
    """The fields of `/proc/<pid>/stat` after the command name (state, ppid, … utime is [11], stime [12], cutime [13],
    cstime [14]); OSError when the process is gone."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of another process, 0 when there is none."""
    if pid is None:
        return 0.0
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS


def database_server_cpu(database) -> float | None:
    """CPU seconds (user + system) so far of the PostgreSQL server `database` (a `store.db.Database`) is on, when it
    runs on this machine: its postmaster (with the children it reaped: the backends of connections already closed)
    and every process it runs now. None for SQLite, or a server elsewhere."""
    if database.is_sqlite:
        return None
    with database.engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    postmaster = _parent_if_postgres(backend)
    if postmaster is None or not _is_postgres(postmaster):
        return None
    total = 0
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else None
        if pid is not None and (pid == postmaster or _parent_if_postgres(pid) == postmaster):
            try:
                total += sum(int(field) for field in stat_fields(pid)[11:15])
            except OSError:  # it ended while we looked
                continue
    return total / TICKS


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


def _parent_if_postgres(pid: int) -> int | None:
    """The parent of process `pid` when `pid` is a postgres process of this machine."""
    if not _is_postgres(pid):
        return None
    try:
        return int(stat_fields(pid)[1])
    except (OSError, ValueError):
        return None


class Meter:
    """CPU seconds of this process plus others (the HTTP emulator, worker processes), inside its `with` blocks."""

    def __init__(self, *other_pids: int | None) -> None:
        self.other_pids = [pid for pid in other_pids if pid is not None]
        self.total = 0.0

    def _cpu(self) -> float:
        return time.process_time() + sum(process_cpu(pid) for pid in self.other_pids)

    def __enter__(self):
        self._started = self._cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.total += self._cpu() - self._started


@dataclass
class Result:
    mode: str
    claims: int
    wall: float
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    cpu: float = 0.0  # CPU seconds of the run (`Meter`)
    database_cpu: float | None = None  # the local PostgreSQL server's CPU seconds in the run (`database_server_cpu`)
    eklaim_cpu: float | None = None  # the served E-Klaim's CPU seconds in the run (http mode), part of `cpu`

    def per_claim_ms(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds / self.claims * 1000

    def ceiling(self, *parts_ms: float | None) -> float | None:
        """Claims/s this machine's cores could give if `parts_ms` (CPU ms per claim) were all a claim cost and
        every core were busy (`peer_crud.ceiling` of their sum). None where a part was not measured."""
        if any(part is None for part in parts_ms):
            return None
        return peer_crud.ceiling(sum(parts_ms))


class EmulatorProcess:
    """`fhirclaim eklaim-emulator` on a free port, with its own key and data directory."""

    def __init__(self, directory: Path, protocol: str) -> None:
        self.key = crypto.generate_key()
        key_file = directory / "eklaim.key"
        key_file.write_text(self.key)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fhirclaim.cli", "eklaim-emulator", "--port", "0", "--key-file", str(key_file),
             "--data-dir", str(directory / "eklaim"), "--coder", CODER, "--protocol", protocol],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(5):
            line = self.process.stdout.readline()
            found = re.search(r"(http://\S+/E-Klaim/ws\.php)", line)
            if found:
                self.url = found.group(1)
                return
        raise RuntimeError("the E-Klaim emulator did not start: " + self.process.stderr.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


class WorkerProcesses:
    """`--worker-processes` `fhirclaim worker` processes on the run's database and data directory, as a deployment
    runs them beside `fhirclaim serve`: the pipeline runs there, this process only writes the claims. Each runs one
    pipeline worker (and its own embedded E-Klaim, or the `http` mode's emulator)."""

    def __init__(self, count: int, settings: Settings, directory: Path) -> None:
        env = {**os.environ, "FHIRCLAIM_DATA_DIR": str(settings.data_dir),
               "FHIRCLAIM_DATABASE_URL": settings.resolved_database_url(), "FHIRCLAIM_PUBLIC_BASE_URL": BASE,
               "FHIRCLAIM_EKLAIM_PROTOCOL": settings.eklaim_protocol,
               **({"FHIRCLAIM_EKLAIM_URL": settings.eklaim_url, "FHIRCLAIM_EKLAIM_KEY": settings.eklaim_key}
                  if settings.eklaim_url else {})}
        self.processes: list[subprocess.Popen] = []
        try:
            for number in range(count):
                log = directory / f"worker-{number}.log"
                with log.open("w") as stderr:  # the process keeps its own copy of the file open
                    process = subprocess.Popen([sys.executable, "-m", "fhirclaim.cli", "worker"], env=env,
                                               stdout=subprocess.PIPE, stderr=stderr, text=True)
                self.processes.append(process)
                for line in process.stdout:  # up once it says its workers run
                    if "workers running" in line:
                        break
                else:
                    raise RuntimeError(f"fhirclaim worker did not start: {log.read_text()}")
        except BaseException:  # none left running behind the error
            self.stop()
            raise

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.communicate(timeout=60)


_ENDED = select(ClaimJobRow.claim_id).where(ClaimJobRow.claim_id.in_(bindparam("awaited", expanding=True)),
                                           ClaimJobRow.status.in_((DONE, FAILED)))  # built once
# PostgreSQL: the benchmark's own trigger tells its watcher which claim's job ended, as it commits (no polling)
_ENDED_CHANNEL = "bench_claim_job_ended"
_ENDED_TRIGGER = [
    f"""CREATE OR REPLACE FUNCTION {_ENDED_CHANNEL}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{_ENDED_CHANNEL}', NEW.claim_id); RETURN NULL; END $$""",
    f"DROP TRIGGER IF EXISTS {_ENDED_CHANNEL} ON claim_job",
    f"""CREATE TRIGGER {_ENDED_CHANNEL} AFTER UPDATE OF status ON claim_job FOR EACH ROW
        WHEN (NEW.status IN ('{DONE}', '{FAILED}')) EXECUTE FUNCTION {_ENDED_CHANNEL}()"""]


class JobWatcher(threading.Thread):
    """With worker processes: tells the waiting producers when their claims' jobs ended (done or failed). On
    PostgreSQL a trigger the benchmark adds to the job table NOTIFYs the claim's id as the job's end commits, and the
    watcher LISTENs (one more trigger run per job update, in the database's own CPU); on SQLite it reads the job
    table every 5 ms for every claim awaited (a latency is then late by up to that)."""

    def __init__(self, runtime: Runtime, completions: Completions, interval: float = 0.005) -> None:
        super().__init__(daemon=True, name="bench-job-watcher")
        self.runtime, self.completions, self.interval = runtime, completions, interval
        self.stopped = threading.Event()
        self.listening = None
        if not runtime.database.is_sqlite:
            with runtime.database.engine.begin() as connection:
                for statement in _ENDED_TRIGGER:
                    connection.exec_driver_sql(statement)
            self.listening = runtime.database.connection_of_its_own()
            self.listening.autocommit = True
            self.listening.execute(f"LISTEN {_ENDED_CHANNEL}")

    def run(self) -> None:
        if self.listening is not None:
            while not self.stopped.is_set():
                for notice in self.listening.notifies(timeout=0.5):
                    self._ended([notice.payload])
            return
        while not self.stopped.wait(self.interval):
            with self.completions._lock:
                awaited = [claim_id for claim_id, (event, _) in self.completions.done.items() if not event.is_set()]
            if awaited:
                with self.runtime.database.engine.connect() as connection:
                    self._ended(connection.execute(_ENDED, {"awaited": awaited}).scalars().all())

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        if self.listening is not None:  # the database as it was: no trigger of the benchmark's left in it
            self.listening.close()
            with self.runtime.database.engine.begin() as connection:
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_ENDED_CHANNEL} ON claim_job")
                connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_ENDED_CHANNEL}()")

    def _ended(self, claim_ids) -> None:
        now = time.perf_counter()
        for claim_id in claim_ids:
            event, times = self.completions.expect(claim_id)
            if not event.is_set():
                times.append(now)
                event.set()


def run_mode(mode: str, offset: int, args, console: Console) -> Result:
    with tempfile.TemporaryDirectory() as directory:
        emulator = EmulatorProcess(Path(directory), args.protocol) if mode == "http" else None
        settings = Settings(data_dir=Path(directory) / "data", database_url=args.database_url, run_worker=False,
                            public_base_url=BASE, eklaim_protocol=args.protocol,
                            **({"eklaim_url": emulator.url, "eklaim_key": emulator.key} if emulator else {}))
        runtime = Runtime(settings)
        freeze_startup_heap()  # as `fhirclaim serve` does before it serves
        processes = (WorkerProcesses(args.worker_processes, runtime.settings, Path(directory))
                     if args.worker_processes else None)
        try:
            return measure(mode, offset, runtime, args, console, emulator.process.pid if emulator else None,
                           processes.pids if processes else [])
        finally:
            if processes:
                processes.stop()
            runtime.close()
            if emulator:
                emulator.stop()


def write_claim(runtime: Runtime, bundle: dict) -> None:
    with runtime.store.unit_of_work() as uow:
        transaction.process(runtime.fhir_service(uow, author="bench:simrs"), bundle, BASE)


def measure(mode: str, offset: int, runtime: Runtime, args, console: Console, eklaim_pid: int | None,
            worker_pids: list[int]) -> Result:
    _, warm_up_claim = claim_bundle(offset)
    with runtime.store.unit_of_work(write=False) as uow:  # a claim written again unchanged queues no job
        if uow.resources.find("Claim", warm_up_claim) is not None:
            raise SystemExit(f"pipeline.py: the database already holds this run's claims ({warm_up_claim}, written "
                             "by an earlier run): give it an empty one")
    completions = Completions(runtime.pipeline)
    workers: list[PipelineWorker | JobWatcher] = []
    if args.worker_processes:  # the pipeline runs in the worker processes; this process watches the job table
        workers.append(JobWatcher(runtime, completions))
    else:
        workers += [PipelineWorker(completions, poll_seconds=0.5, name=f"bench-{n}") for n in range(args.workers)]
        for worker in workers:  # woken by the commit that queued a job, as `fhirclaim serve` wires its worker
            runtime.store.on_commit(commit_notices.CLAIM_JOB_QUEUED, worker.wake)
    for worker in workers:
        worker.start()
    result = Result(mode, args.claims, 0.0)
    numbers = iter(range(offset + 1, offset + args.claims + 1))
    lock = threading.Lock()

    def one(number: int) -> float:
        bundle, claim_id = claim_bundle(number)
        event, ended = completions.expect(claim_id)
        write_claim(runtime, bundle)
        written = time.perf_counter()
        if not event.wait(300):
            raise RuntimeError(f"claim {claim_id} was not processed within 300 s")
        return ended[0] - written

    try:
        one(offset)  # warm-up: the grouper tables, the emulator, the connection pools
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{mode}: {args.claims} claims", total=args.claims)

            def producer() -> None:
                while True:
                    with lock:
                        number = next(numbers, None)
                    if number is None:
                        return
                    latency = one(number)
                    with lock:
                        result.latencies.append(latency)
                    progress.advance(task)

            database_before, eklaim_before = database_server_cpu(runtime.database), process_cpu(eklaim_pid)
            with Meter(eklaim_pid, *worker_pids) as meter:
                started = time.perf_counter()
                threads = [threading.Thread(target=producer) for _ in range(args.producers)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                result.wall = time.perf_counter() - started
            result.cpu = meter.total
            if eklaim_pid is not None:
                result.eklaim_cpu = process_cpu(eklaim_pid) - eklaim_before
            database_after = database_server_cpu(runtime.database)
            if database_before is not None and database_after is not None:
                result.database_cpu = database_after - database_before
    finally:
        for worker in workers:
            worker.stop()
    result.failed = count_unsigned(runtime, offset, args.claims)
    return result


def count_unsigned(runtime: Runtime, offset: int, claims: int) -> int:
    """Claims of the run that did not end with a signed Bundle (the benchmark's own sanity check)."""
    missing = 0
    with runtime.store.unit_of_work(write=False) as uow:
        for number in range(offset + 1, offset + claims + 1):
            _, claim_id = claim_bundle(number)
            if uow.resources.find("Bundle", derived_id("bundle", claim_id)) is None:
                missing += 1
    return missing


def report(results: list[Result], args, console: Console) -> None:
    workers = (f"{args.worker_processes} worker processes" if args.worker_processes
               else f"{args.workers} worker threads")
    table = Table(title=f"Claim pipeline end to end: Claim write → signed Bundle (E-Klaim {args.protocol}, "
                        f"{workers}, {args.producers} producers, "
                        f"{'PostgreSQL' if args.database_url else 'SQLite'})")
    for column in ("E-Klaim", "claims", "wall s", "claims/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU ms/claim",
                   "cores", "DB CPU ms/claim", "E-Klaim CPU ms/claim", "ceiling claims/s",
                   "E-Klaim+DB ceiling", "unsigned"):
        table.add_column(column, justify="left" if column == "E-Klaim" else "right")
    sqlite = not args.database_url
    for result in results:
        ms = sorted(latency * 1000 for latency in result.latencies)
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        cpu, database = result.per_claim_ms(result.cpu), result.per_claim_ms(result.database_cpu)
        eklaim = result.per_claim_ms(result.eklaim_cpu)
        ceiling = result.ceiling(cpu, 0.0 if sqlite else database)
        eklaim_ceiling = result.ceiling(eklaim, 0.0 if sqlite else database)
        table.add_row(result.mode, str(result.claims), f"{result.wall:.1f}", f"{result.claims / result.wall:.1f}",
                      f"{cuts[49]:.0f}", f"{cuts[89]:.0f}", f"{cuts[98]:.0f}", f"{ms[-1]:.0f}", f"{cpu:.0f}",
                      f"{result.cpu / result.wall:.2f}", _figure(database), _figure(eklaim), _figure(ceiling),
                      _figure(eklaim_ceiling), str(result.failed))
    console.print(table)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="pipeline worker threads (in this process)")
    parser.add_argument("--worker-processes", type=int, default=0,
                        help="run the pipeline in this many `fhirclaim worker` processes instead of worker threads")
    parser.add_argument("--producers", type=int, default=4, help="claims written and awaited at a time")
    parser.add_argument("--modes", default="in-process,http")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--protocol", choices=("5.10", "5.1"), default="5.10", help="what E-Klaim speaks")
    args = parser.parse_args()
    console = Console(width=180)
    results = []
    for index, mode in enumerate(m.strip() for m in args.modes.split(",")):
        if mode not in ("in-process", "http"):
            parser.error(f"unknown mode {mode!r}")
        results.append(run_mode(mode, index * (args.claims + 1) + 1, args, console))
    report(results, args, console)


if __name__ == "__main__":
    main()
