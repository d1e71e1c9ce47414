"""The web app's worklist page with many claims: how long `GET /app/claims` takes for a signed-in user.

    python benchmarks/worklist.py [--claims 100000] [--repeat 7] [--database-url URL]

Builds `--claims` worklist lines of one hospital directly in the store (`claim_worklist`, as the worklist listener
writes them, a realistic mix of states, care types, names and SEPs; plus 1% of another hospital's), signs in a
manager through the real form, and times the page (Flask's test client: routing, session, the SQL of
`WorklistRepository.page` and `counts`, the Jinja template) for the requests a claim unit makes: the first page,
"needs attention", one cause, search by SEP prefix, MR number and name, a sort by patient and by status, a deep page.
SQLite in a temporary directory unless --database-url names an empty database (PostgreSQL: its own cluster, e.g.
`initdb` + `pg_ctl -o '-p 55434'`, then `--database-url postgresql+psycopg://postgres@127.0.0.1:55434/bench`). The
table is vacuumed and analysed after the bulk load, as autovacuum keeps it in a running server. Prints the median and
worst of each; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "webapp"))  # webkit: sign-in helpers

HOSPITAL = "10000004"
STATES = [("received", "progress", None, "wait-eklaim"), ("signed", "progress", None, "wait-bpjs"),
          ("error", "attention", "precheck-error", "fix-claim"), ("error", "attention", "eklaim-error", "fix-claim"),
          ("awaiting-special-cmg", "attention", "special-cmg", "choose-special-cmg"),
          ("purified", "attention", "decision-due", "answer-purification"),
          ("not-purified", "attention", "purification-failed", "answer-purification"),
          ("decision-lanjut", "progress", None, "wait-verification"), ("verified", "done", None, "none")]
WEIGHTS = [5, 20, 4, 1, 2, 5, 1, 12, 50]
NAMES = ["Siti Aminah", "Sri Wahyuni", "Agus Setiawan", "Dewi Kartika", "Budi Santoso", "Rina Marlina",
         "Joko Prasetyo", "Putri Lestari", "Ahmad Fauzi", "Nur Hidayah"]
CAUSES = ["PRECHECK-TARIF-MINIMUM", "PRECHECK-RESUME-MISSING", "PRECHECK-REFERRAL-MISSING", "E2012",
          "TIDAK-LOLOS-PURIFIKASI", "SPECIAL-CMG-CHOICE"]


def lines(count: int, tenant: str, prefix: str, rng: random.Random) -> list[dict]:
    now = datetime.utcnow()
    made = []
    for n in range(count):
        status, stage, attention, action = rng.choices(STATES, WEIGHTS)[0]
        start = now - timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23))
        inpatient = rng.random() < 0.4
        end = start + timedelta(days=rng.randint(1, 8) if inpatient else 0, hours=2)
        name = f"{rng.choice(NAMES)} {n}"
        tariff = Decimal(rng.randint(200_000, 40_000_000))
        made.append({
            "claim_id": f"{prefix}-{n}", "tenant": tenant, "sep": f"0301R{n:014d}", "patient_name": name,
            "patient_search": name.lower(), "mr_number": f"RM-{n:07d}", "episode_start": start, "episode_end": end,
            "care_type": "inpatient" if inpatient else "outpatient", "status": status, "stage": stage,
            "attention": attention, "next_action": action, "tariff": tariff if status != "received" else None,
            "tarif_rs": tariff * Decimal(rng.uniform(0.7, 1.3)).quantize(Decimal(1)),
            "causes": rng.choice(CAUSES) if attention else None, "created_at": start,
            "submitted_at": end + timedelta(days=rng.randint(0, 10)), "paid_at": None, "updated_at": start})
    return made


def build(runtime, claims: int) -> None:
    from fhirclaim.store.worklist import WorklistRepository

    rng = random.Random(18)
    for tenant, count, prefix in ((HOSPITAL, claims, "c"), ("10000099", max(1, claims // 100), "o")):
        batch = lines(count, tenant, prefix, rng)
        for start in range(0, len(batch), 5000):
            with runtime.store.unit_of_work() as uow:
                WorklistRepository(uow.session).save_many(batch[start:start + 5000])


def settle(runtime) -> None:
    """Statistics and the visibility map of the freshly loaded table, as autovacuum keeps them in a running server."""
    engine = runtime.store.database.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE claim_worklist" if engine.dialect.name == "postgresql"
                                   else "ANALYZE claim_worklist")


def time_page(client, path: str, repeat: int) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, path
    return statistics.median(timings), max(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from webkit import add_user, sign_in

    from fhirclaim.app import create_app
    from fhirclaim.config import Settings
    from fhirclaim.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="fhirclaim-worklist-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=args.database_url, run_worker=False)
        runtime = Runtime(settings)
        try:
            started = time.perf_counter()
            build(runtime, args.claims)
            settle(runtime)
            print(f"built {args.claims} worklist lines in {time.perf_counter() - started:.1f} s")
            add_user(runtime, "bench", role="manager")
            client = create_app(settings, runtime).test_client()
            sign_in(client, "bench")
            pages = {"first page": "/app/claims", "needs attention": "/app/claims?stage=attention",
                     "one cause": "/app/claims?attention=decision-due", "SEP prefix": "/app/claims?q=0301R000000001",
                     "MR number": f"/app/claims?q=RM-{args.claims // 2:07d}",
                     "name": "/app/claims?q=wahyuni", "sort by patient": "/app/claims?sort=patient&dir=asc",
                     "sort by status": "/app/claims?sort=status&dir=asc",
                     "deep page": f"/app/claims?page={max(1, args.claims // 25 // 2)}"}
            print(f"{'request':<18} {'median ms':>10} {'worst ms':>10}")
            for label, path in pages.items():
                median, worst = time_page(client, path, args.repeat)
                print(f"{label:<18} {median:>10.1f} {worst:>10.1f}")
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
