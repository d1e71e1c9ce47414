"""Signing and verification of the largest example case's claim Bundle: prints figures, asserts nothing.

    python benchmarks/signing.py [--rounds 200] [--extra-charge-items 0]

The Bundle is built as the pipeline builds it: every resource of the largest case in `examples/` (by bytes), which
carries the medical record of its encounter (a Condition per billed diagnosis, a Procedure per billed procedure,
its documents, results and vital signs: examples/README.md), and optionally N more ChargeItems (a long stay has
tens). Each hospital key is certified by the
installation's CA (`HospitalSigning`, in a temporary directory); verification answers all three questions against
the trust anchors and the CRL, as `$verify-signature` does.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

from fhirclaim.signing import HospitalSigning, canonical_bytes, verify_bundle

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOSPITAL = "10000004"


def largest_case() -> tuple[str, list[dict]]:
    """The example case whose transaction is the largest, as its resources."""
    path = max(EXAMPLES.glob("*/transaction.json"), key=lambda p: p.stat().st_size)
    return path.parent.name, [entry["resource"] for entry in json.loads(path.read_text())["entry"]]


def claim_bundle(resources: list[dict], extra_charge_items: int) -> dict:
    charge_item = next(r for r in resources if r["resourceType"] == "ChargeItem")
    extra = [{**copy.deepcopy(charge_item), "id": f"extra-{n}"} for n in range(extra_charge_items)]
    return {"resourceType": "Bundle", "id": "bench", "type": "collection", "timestamp": "2025-07-01T10:00:00+07:00",
            "identifier": {"system": "http://sys-ids.kemkes.go.id/claim-number", "value": "0301R0011024V000123"},
            "entry": [{"fullUrl": f"https://fhirclaim.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources + extra]}


def timed(action, rounds: int) -> list[float]:
    durations = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        durations.append(time.perf_counter() - start)
    return durations


def report(label: str, durations: list[float]) -> None:
    ordered = sorted(durations)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{label:<30} {len(durations) / sum(durations):8.0f}/s   p50 {statistics.median(durations) * 1e3:6.2f} ms"
          f"   p99 {p99 * 1e3:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--extra-charge-items", type=int, default=0)
    args = parser.parse_args()
    name, resources = largest_case()
    bundle = claim_bundle(resources, args.extra_charge_items)
    print(f"Largest example case {name}: {len(bundle['entry'])} entries, {len(json.dumps(bundle)):,} JSON bytes, "
          f"{len(canonical_bytes(bundle)):,} canonical bytes, {args.rounds} rounds")
    report("canonical_bytes", timed(lambda: canonical_bytes(bundle), args.rounds))
    for alg in ("RS256", "ES256"):
        with tempfile.TemporaryDirectory() as directory:
            signing = HospitalSigning(directory, alg=alg)
            start = time.perf_counter()
            signing.load()
            signing.current(HOSPITAL)
            print(f"{alg}: CA + hospital key + certificate made in {(time.perf_counter() - start) * 1e3:.0f} ms")
            bench_alg(alg, signing, bundle, args.rounds)


def bench_alg(alg: str, signing: HospitalSigning, bundle: dict, rounds: int) -> None:
    who = {"reference": f"Organization/{HOSPITAL}"}
    signed = signing.sign(bundle, who)
    trust = signing.trust_policy()
    assert verify_bundle(signed, trust=trust).valid
    size, signature = len(json.dumps(signed)), len(json.dumps(signed["signature"]))
    print(f"{alg}: signed Bundle {size:,} JSON bytes (signature {signature:,})")
    report(f"{alg} sign", timed(lambda: signing.sign(bundle, who), rounds))
    report(f"{alg} verify (all three)", timed(lambda: verify_bundle(signed, trust=trust), rounds))
    report(f"{alg} verify integrity only", timed(lambda: verify_bundle(signed, integrity_only=True), rounds))


if __name__ == "__main__":
    main()
