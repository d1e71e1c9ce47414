"""Precheck time per claim with a large claim history (issue 15): `Claim/$precheck` as the server runs it — the
Claim's references resolved in the store, its claim file gathered (documents naming the Encounter, charge items),
the patient's history searched — over a store holding N past claims (default 100,000).

How the store is built (writing 100,000 claims through the repository takes hours on a shared two-core box):
`--base` claims (default 2,000, for base/10 patients) are written through the repository
(`SqlResourceRepository.create`: the rows, versions and search index the REST API writes, without HTTP,
validation and audit); the rest are copies of those rows written straight into the same tables (resource,
resource_version and every idx_* table), with new logical ids and new patient and encounter ids, so the tables
and indexes hold N claims of N/10 patients while every patient still has about ten claims. Then
`submission.precheck_outcome` runs on corpus claims (`precheck_corpus.py`) of base patients, whose history the
rules read, and the script prints build time and precheck time per claim (median, p95). SQLite only for the copies.

    python benchmarks/precheck_history.py [--claims 100000] [--base 2000] [--checks 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from precheck_corpus import TEMPLATES  # noqa: E402
from sqlalchemy import MetaData, Table, insert, select, text  # noqa: E402

from fhirclaim.claims.claim_context import TenantClaimSettings  # noqa: E402
from fhirclaim.claims.claim_operations import precheck_outcome  # noqa: E402
from fhirclaim.config import Settings  # noqa: E402
from fhirclaim.runtime import Runtime  # noqa: E402

WIB = timezone(timedelta(hours=7))
BATCH = 2000
RESOURCE, VERSION = "resource", "resource_version"
INDEXES = ("idx_token", "idx_string", "idx_reference", "idx_date", "idx_number", "idx_quantity")


def past_claim(n: int, patient: str, rng: random.Random) -> tuple[dict, dict]:
    start = datetime(2024, 1, 1, 8, tzinfo=WIB) + timedelta(days=rng.randrange(700), hours=rng.randrange(8))
    inpatient = rng.random() < 0.3
    end = start + (timedelta(days=rng.randrange(1, 7)) if inpatient else timedelta(hours=1))
    encounter = {"resourceType": "Encounter", "id": f"h-enc-{n}", "status": "finished",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                           "code": "IMP" if inpatient else "AMB"},
                 "subject": {"reference": f"Patient/{patient}"},
                 "period": {"start": start.isoformat(), "end": end.isoformat()}}
    claim = {"resourceType": "Claim", "id": f"h-claim-{n}", "status": "active", "use": "claim",
             "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                  "code": "institutional"}]},
             "patient": {"reference": f"Patient/{patient}"}, "created": end.isoformat(),
             "provider": {"reference": "Organization/rs"}, "priority": {"coding": [{"code": "normal"}]},
             "supportingInfo": [{"sequence": 1, "category": {"coding": [{
                 "system": "http://terminology.kemkes.go.id/CodeSystem/claiminformationcategory",
                 "code": "encounter"}]}, "valueReference": {"reference": f"Encounter/h-enc-{n}"}}],
             "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/none"},
                            "identifier": {"system": "http://sys-ids.kemkes.go.id/claim-number/100025555",
                                           "value": f"0301R001{start:%m%y}V{n:06d}"}}],
             "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
                 {"system": "http://hl7.org/fhir/sid/icd-10", "code": rng.choice(["A09", "J18.9", "E11.9", "I10"])}]}}],
             "total": {"value": 500000, "currency": "IDR"}}
    return encounter, claim


def build(runtime: Runtime, claims: int, base: int) -> float:
    """`base` claims through the repository, then copies of their rows up to `claims`."""
    rng, began = random.Random(100), time.perf_counter()
    patients = max(1, base // 10)
    for first in range(0, base, BATCH):
        with runtime.store.unit_of_work() as uow:
            for n in range(first, min(first + BATCH, base)):
                for resource in past_claim(n, f"pat-{n % patients + 1}", rng):
                    uow.resources.create(resource)
    copies = -(-claims // base) - 1
    with runtime.database.engine.begin() as connection:
        tables = {name: Table(name, MetaData(), autoload_with=connection) for name in (RESOURCE, VERSION, *INDEXES)}
        rows = {name: [dict(r._mapping) for r in connection.execute(select(table))] for name, table in tables.items()}
        stride = max(r["pk"] for r in rows[RESOURCE]) + 1
        for copy in range(1, copies + 1):
            renamed = {name: [_renamed(name, row, copy, stride) for row in rows[name]] for name in rows}
            for name, table in tables.items():
                if renamed[name]:
                    connection.execute(insert(table), renamed[name])
            print(f"\r{base * (copy + 1):,} claims stored", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - began


def _renamed(table: str, row: dict, copy: int, stride: int) -> dict:
    """A copy of one row for copy number `copy`: logical ids, patients and encounters suffixed, pks shifted."""
    row = dict(row)
    if table == RESOURCE:
        row["pk"] += copy * stride
    if "logical_id" in row:
        row["logical_id"] = f"{row['logical_id']}-{copy}"
    if "resource_pk" in row:
        row["resource_pk"] += copy * stride
        row.pop("id", None)
    if table == "idx_reference" and row["target_type"] in ("Patient", "Encounter"):
        row["target_id"] = f"{row['target_id']}-{copy}"
    return row


def check(runtime: Runtime, count: int) -> list[float]:
    """Corpus claims (numbered 1..count, so their patients pat-1.. have history), each stored with its file."""
    rng, timings = random.Random(7), []
    settings = TenantClaimSettings()
    for n in range(1, count + 1):
        case = TEMPLATES[n % len(TEMPLATES)](rng, n)
        with runtime.store.unit_of_work() as uow:
            for key in ("patient", "coverage", "encounter", "invoice"):
                uow.resources.update(case.resources[key])
            for resource in [*case.resources["practitioners"].values(), *case.resources["documents"],
                             *case.resources["results"], *case.resources["therapies"],
                             *case.resources["prescriptions"]]:
                uow.resources.update(resource)
        with runtime.store.unit_of_work(write=False) as uow:
            began = time.perf_counter()
            outcome = precheck_outcome(uow, case.resources["claim"], settings)
            timings.append(time.perf_counter() - began)
        assert outcome["resourceType"] == "OperationOutcome"
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=2_000)
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{data_dir}/history.db"
        runtime = Runtime(Settings(data_dir=Path(data_dir), database_url=url, run_worker=False))
        seconds = build(runtime, args.claims, min(args.base, args.claims))
        with runtime.database.engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM resource WHERE resource_type = 'Claim'")).scalar()
        timings = sorted(check(runtime, min(args.checks, max(1, args.base // 10))))
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"history: {stored:,} claims ({args.base:,} through the repository, the rest copied rows) "
          f"built in {seconds:.0f} s")
    print(f"precheck per claim: median={1000 * statistics.median(timings):.1f} ms p95={1000 * p95:.1f} ms "
          f"over {len(timings)} claims with ~10 past claims each")


if __name__ == "__main__":
    main()
