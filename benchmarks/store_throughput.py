"""Store throughput through the whole FHIR REST stack (validation, index, SQL), in-process WSGI.

Loads N Claims (default 10,000) for N/10 patients and prints creates/s, reads/s and searches/s by identifier and
by patient, on SQLite and — with --postgres URL — on PostgreSQL, as an authenticated facility client (so the
audit trail and the tenant scope are in every figure). The pipeline worker is off: the Claims are generic R4 ones
(no SEP), this measures the FHIR store, not E-Klaim.

    python benchmarks/store_throughput.py [--claims 10000] [--postgres postgresql+psycopg://u@host:port/db]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, text

from fhirclaim.app import create_app
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime

console = Console(stderr=True)
SYSTEM = "http://hospital.example/claim"


def claim(n: int, patient: str) -> dict:
    return {
        "resourceType": "Claim", "status": "active", "use": "claim", "created": f"2026-{n % 12 + 1:02d}-15",
        "identifier": [{"system": SYSTEM, "value": f"CLM-{n:06d}"}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": f"Patient/{patient}"}, "provider": {"reference": "Organization/rs"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A09"}]}}],
        "total": {"value": 3_500_000 + n, "currency": "IDR"},
    }


def run(label: str, database_url: str, claims: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = Runtime(Settings(data_dir=Path(data_dir), database_url=database_url, run_worker=False))
        client = create_app(runtime=runtime).test_client()
        client_id, _ = runtime.clients.add_client("facility", "10000004", "benchmark")
        token = runtime.clients.issue(runtime.clients.principal_of(client_id)).access_token
        headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
        read = {"Authorization": f"Bearer {token}"}

        def put(resource):
            response = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", data=json.dumps(resource),
                                  headers=headers)
            assert response.status_code in (200, 201), response.get_data(as_text=True)

        put({"resourceType": "Organization", "id": "rs", "name": "RSUD"})
        patients = [f"p{i}" for i in range(max(1, claims // 10))]
        for pid in patients:
            put({"resourceType": "Patient", "id": pid, "gender": "female"})
        put({"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": "Patient/p0"},
             "payor": [{"reference": "Organization/rs"}]})

        ids: list[str] = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"[{label}] creating {claims} claims", total=claims)
            started = time.perf_counter()
            for n in range(claims):
                response = client.post("/fhir/Claim", data=json.dumps(claim(n, patients[n % len(patients)])),
                                       headers=headers)
                assert response.status_code == 201, response.get_data(as_text=True)
                ids.append(response.get_json()["id"])
                progress.advance(task)
            creates = claims / (time.perf_counter() - started)

        rng = random.Random(7)
        samples = min(2000, claims)
        reads = _rate(samples, lambda: client.get(f"/fhir/Claim/{rng.choice(ids)}", headers=read))
        by_identifier = _rate(samples, lambda: client.get(
            f"/fhir/Claim?identifier={SYSTEM}|CLM-{rng.randrange(claims):06d}", headers=read), expect_total=1)
        by_patient = _rate(samples, lambda: client.get(f"/fhir/Claim?patient=Patient/{rng.choice(patients)}",
                                                       headers=read), expect_total=10 if claims >= 10 else None)
        runtime.close()
        return {"creates/s": creates, "reads/s": reads, "search by identifier/s": by_identifier,
                "search by patient/s": by_patient}


def _rate(samples: int, call, expect_total: int | None = None) -> float:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        response = call()
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        if expect_total is not None:
            assert response.get_json()["total"] == expect_total
    return 1 / statistics.mean(latencies)


def _fresh_postgres(url: str) -> str:
    """A new empty database beside the one named, so the run starts from nothing."""
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"fhirclaim_bench_{int(time.time())}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--postgres", help="PostgreSQL URL; a fresh database is created beside it")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as sqlite_dir:
        results["SQLite"] = run("SQLite", f"sqlite:///{sqlite_dir}/bench.db", args.claims)
    if args.postgres:
        results["PostgreSQL"] = run("PostgreSQL", _fresh_postgres(args.postgres), args.claims)
    table = Table(title=f"FHIR store, {args.claims:,} Claims, in-process WSGI, one client thread")
    table.add_column("measure")
    for name in results:
        table.add_column(name, justify="right")
    for measure in next(iter(results.values())):
        table.add_row(measure, *(f"{results[name][measure]:,.0f}" for name in results))
    Console().print(table)


if __name__ == "__main__":
    main()
