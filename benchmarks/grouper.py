"""INA-CBG grouper emulator speed on one core: prints figures, asserts nothing.

    python benchmarks/grouper.py [--claims 20000] [--seed 7]

The claims are a generated mix shaped like a class-B hospital's month: mostly inpatient medical stays with 0-4
secondary diagnoses, surgery (some with special CMG choices for stage 2), deliveries, neonates, outpatient visits
and procedures, sub-acute/chronic stays, class upgrades, and a few percent of claims that land in error groups.
Reported: the cold start (tables, tariffs and code lists loaded on the first claim), Grouper.group per claim
(throughput and per-claim percentiles), and the batch command end to end (JSON lines in and out, progress bar).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr
from datetime import date, timedelta
from pathlib import Path

MEDICAL = ["A09", "A01.0", "A91", "A41.9", "J18.9", "J44.1", "I50.0", "I63.9", "I21.0", "E11.9", "N18.5", "K29.7",
           "D56.1", "B20.9", "F20.0", "N39.0", "K80.2", "C91.0", "J45.9", "G40.9", "L03.1", "T20.3", "A15.0"]
SECONDARY = ["E11.9", "I10", "E87.1", "D64.9", "N18.3", "J18.9", "A41.9", "E43", "K92.2", "I48.9", "Z99.2", "R56.8",
             "B20.9", "E86", "L89.1", "N39.0", "J96.0", "D69.6"]
SURGERY = [("S71.0", "81.52#88.38", "YY01"), ("M17.1", "81.54", "RR04Knee"), ("K35.8", "47.09", None),
           ("K40.9", "53.00", None), ("S72.0", "79.35", None), ("N40", "60.29", None), ("C34.1", "32.41", "YY08"),
           ("I21.0", "36.06#37.22", "YY02"), ("N20.0", "56.0", None), ("D25.9", "68.49", None)]
OUTPATIENT = [("J06.9", "#"), ("E11.9", "#"), ("I10", "89.03"), ("H25.9", "13.41"), ("N18.5", "39.95"),
              ("M54.5", "93.39"), ("Z09.0", "#"), ("G40.9", "88.91"), ("Z51.1", "#"), ("K02.1", "23.19")]
ERRORS = [{"diagnosa": "S72.00"}, {"tarif_rs": "10000"}, {"procedure": "81.50"}, {"diagnosa": "Z38.0"},
          {"gender": "1", "diagnosa": "O80"}, {"tgl_lahir": ""}]


def generate(count: int, seed: int) -> list[tuple[dict, list[str]]]:
    """(claim, special_cmg) pairs, reproducible for a seed."""
    rng = random.Random(seed)
    return [_one(rng, number) for number in range(count)]


def _one(rng: random.Random, number: int) -> tuple[dict, list[str]]:
    admitted = date(2024, 1, 1) + timedelta(days=rng.randrange(365))
    stay = rng.choice([1, 2, 3, 3, 4, 5, 7, 10, 14])
    born = admitted - timedelta(days=rng.randrange(365 * 1, 365 * 85))
    claim = {"nomor_sep": f"0301R0010124V{number:06d}", "jenis_rawat": "1", "kelas_rawat": rng.choice("1233"),
             "tgl_masuk": f"{admitted} 08:00:00", "tgl_pulang": f"{admitted + timedelta(days=stay - 1)} 10:00:00",
             "tgl_lahir": f"{born} 00:00:00", "gender": rng.choice("12"), "discharge_status": "1",
             "birth_weight": "0", "adl_sub_acute": "0", "adl_chronic": "0",
             "tarif_rs": str(rng.randrange(2, 90) * 10**6),
             "kode_tarif": rng.choice(["AP", "BP", "BP", "BS", "CP", "CS"]), "payor_id": "3", "procedure": "#"}
    special: list[str] = []
    kind = rng.random()
    secondaries = rng.sample(SECONDARY, rng.choice([0, 0, 1, 1, 2, 3, 4]))
    if kind < 0.45:
        claim["diagnosa"] = "#".join([rng.choice(MEDICAL), *secondaries])
    elif kind < 0.60:
        principal, procedures, option = rng.choice(SURGERY)
        claim.update(diagnosa="#".join([principal, *secondaries]), procedure=procedures,
                     gender="1" if principal == "N40" else "2" if principal.startswith("D25") else claim["gender"])
        special = [option] if option and rng.random() < 0.7 else []
    elif kind < 0.67:
        claim.update(diagnosa=rng.choice(["O80#Z37.0", "O82.0#Z37.0", "O70.0#O80"]), gender="2",
                     tgl_lahir=f"{admitted - timedelta(days=365 * rng.randrange(18, 40))} 00:00:00")
        claim["procedure"] = "74.1" if claim["diagnosa"].startswith("O82") else "73.59"
    elif kind < 0.71:
        claim.update(diagnosa=rng.choice(["P07.1#P22.1", "P59.9", "P36.9"]),
                     birth_weight=str(rng.randrange(1500, 3800)),
                     tgl_lahir=f"{admitted - timedelta(days=rng.randrange(0, 5))} 00:00:00")
    elif kind < 0.93:
        principal, procedures = rng.choice(OUTPATIENT)
        claim.update(jenis_rawat="2", kelas_rawat="3", diagnosa=principal, procedure=procedures,
                     tgl_pulang=claim["tgl_masuk"], tarif_rs=str(rng.randrange(1, 30) * 50_000))
    elif kind < 0.97:
        claim.update(diagnosa="#".join(["I63.9", *secondaries]), adl_sub_acute=str(rng.randrange(12, 61)),
                     adl_chronic=rng.choice(["0", str(rng.randrange(12, 61))]))
    else:
        claim.update({"diagnosa": "A09", **rng.choice(ERRORS)})
    if claim["jenis_rawat"] == "1" and claim["kelas_rawat"] != "1" and rng.random() < 0.05:
        claim.update(upgrade_class_ind="1", upgrade_class_class="kelas_1", upgrade_class_los=str(stay),
                     add_payment_pct="0")
    return claim, special


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return f"pinned to CPU {sorted(os.sched_getaffinity(0))[0]}"
    return "not pinned (no sched_setaffinity)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"grouper benchmark: {args.claims} claims, seed {args.seed}, {pin_to_one_core()}")
    claims = generate(args.claims, args.seed)

    start = time.perf_counter()
    from fhirclaim.inacbg.grouper import Grouper

    grouper = Grouper()
    first = grouper.group(*claims[0])
    cold = time.perf_counter() - start
    print(f"cold start (import, tables, tariffs, ICD lists, first claim): {cold * 1000:.0f} ms")

    durations, groups = [], Counter()
    start = time.perf_counter()
    for claim, special in claims:
        began = time.perf_counter()
        answer = grouper.group(claim, special)
        durations.append(time.perf_counter() - began)
        groups[answer["response"]["cbg"]["code"].split("-")[0]] += 1
    elapsed = time.perf_counter() - start
    quantiles = statistics.quantiles(durations, n=100)
    print(f"Grouper.group: {len(claims) / elapsed:,.0f} claims/s on one core "
          f"(mean {statistics.fmean(durations) * 1e6:.0f} µs, p50 {quantiles[49] * 1e6:.0f} µs, "
          f"p99 {quantiles[98] * 1e6:.0f} µs)")
    print("mix (CMG of the answer): " + ", ".join(f"{cmg} {count}" for cmg, count in groups.most_common()))
    assert first["response"]["cbg"]["code"]

    from fhirclaim.inacbg.batch import run_batch

    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "claims.jsonl"
        source.write_text("".join(json.dumps({**claim, "special_cmg": special}) + "\n" for claim, special in claims))
        start = time.perf_counter()
        with redirect_stderr(io.StringIO()):
            run_batch(source, Path(work) / "answers.jsonl")
        elapsed = time.perf_counter() - start
    print(f"fhirclaim group (JSON lines in and out, progress, summary): {len(claims) / elapsed:,.0f} claims/s")


if __name__ == "__main__":
    sys.exit(main())
