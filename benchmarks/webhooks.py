"""Webhook cost: what the listener adds to a write, and how fast one worker drains the outbox to a local receiver.

    python benchmarks/webhooks.py [--writes 200] [--subscriptions 0,1,10,50] [--database-url URL]

Writes are ClaimResponse updates through the FHIR service (the R4 example, request -> a Claim of Organization/x)
with N active Subscriptions, in two layouts:
- distinct: system-scope Subscriptions, every one with its own criteria (no two share a search), half matching
  (`request.provider=Organization/x,Organization/zN`) and half not (`...y,...zN`): the worst case, one search each;
- tenants: one Subscription per tenant (`request.provider=Organization/x`), the writes in one tenant: only that
  tenant's Subscription is searched.
The receiver is http.server on 127.0.0.1 answering 200. SQLite in a temporary directory unless a URL is given
(then use an empty database). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fhirclaim import webhooks
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import SYSTEM, Scope

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fhir" / "r4-examples"
SECRET = "benchmark-secret-0123456789"  # noqa: S105


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


class Quiet(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def seed(runtime: Runtime, endpoint: str, subscriptions: int, layout: str) -> None:
    with runtime.store.unit_of_work() as uow:
        service = runtime.fhir_service(uow, author="bench")
        for resource in ({"resourceType": "Organization", "id": "x"}, {"resourceType": "Organization", "id": "y"},
                         {"resourceType": "Organization", "id": "2"}, {"resourceType": "Organization", "id": "1"},
                         {"resourceType": "Patient", "id": "1"},
                         {"resourceType": "Practitioner", "id": "example"},
                         {"resourceType": "Coverage", "id": "9876B1", "status": "active",
                          "beneficiary": {"reference": "Patient/1"}, "payor": [{"reference": "Organization/2"}]}):
            service.update(resource["resourceType"], resource["id"], resource)
    for number in range(subscriptions):
        tenant = f"rs-{number}" if layout == "tenants" else None
        provider = "x" if layout == "tenants" else f"{'xy'[number % 2]},Organization/z{number}"
        with runtime.store.unit_of_work(Scope(tenant=tenant, all_tenants=tenant is None)) as uow:
            runtime.fhir_service(uow, author="bench").create({
                "resourceType": "Subscription", "status": "active", "reason": "bench",
                "criteria": f"ClaimResponse?request.provider=Organization/{provider}",
                "channel": {"type": "rest-hook", "endpoint": endpoint},
                "extension": [{"url": webhooks.SECRET_EXTENSION, "valueString": SECRET}]})


def run(database_url: str | None, writes: int, subscriptions: int, endpoint: str, layout: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(data_dir=Path(directory), database_url=database_url, run_worker=False,
                            webhook_allowed_hosts="127.0.0.1")  # the receiver is local: allowed explicitly
        runtime = Runtime(settings)
        worker = runtime.webhook_worker
        seed(runtime, endpoint, subscriptions, layout)
        writer = Scope(tenant="rs-0", all_tenants=False) if layout == "tenants" else SYSTEM
        with runtime.store.unit_of_work(writer) as uow:
            runtime.fhir_service(uow, author="bench").update("Claim", "c1", {
                **example("Claim-100150.json"), "id": "c1", "provider": {"reference": "Organization/x"}})
        response = {**example("ClaimResponse-R3500.json"), "id": "r1", "request": {"reference": "Claim/c1"}}
        durations = []
        for number in range(writes):
            body = copy.deepcopy(response)
            body["disposition"] = f"version {number}"
            start = time.perf_counter()
            with runtime.store.unit_of_work(writer) as uow:
                runtime.fhir_service(uow, author="bench").update("ClaimResponse", "r1", body)
            durations.append(time.perf_counter() - start)
        start = time.perf_counter()
        sent = worker.run_once()
        drain = time.perf_counter() - start
        rate = f"{sent / drain:7.0f} deliveries/s" if sent else "      - (nothing matched)"
        median = statistics.median(durations) * 1000
        print(f"{layout:9s} {subscriptions:4d} subscriptions: write median {median:6.2f} ms, "
              f"p95 {sorted(durations)[int(len(durations) * 0.95)] * 1000:6.2f} ms; "
              f"{sent:5d} notifications drained by one worker: {rate}")
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--subscriptions", default="0,1,10,50")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/hook"
    for layout in ("distinct", "tenants"):
        for count in (int(n) for n in args.subscriptions.split(",")):
            run(args.database_url, args.writes, count, endpoint, layout)
    server.shutdown()


if __name__ == "__main__":
    main()
