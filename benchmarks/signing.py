"""Signing and verification speed for claim-sized Bundles: prints figures, asserts nothing.

    python benchmarks/signing.py [--rounds 300] [--charge-items 40]

The Bundle is the official R4 Claim, ClaimResponse, Coverage, Account and Invoice examples plus N copies of the
ChargeItem example (a hospital stay has tens of ChargeItems). Keys are made in a temporary directory.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

from fhirclaim.signing import SigningKeyStore, canonical_bytes, sign_bundle, verify_bundle

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fhir" / "r4-examples"
CASE = ("Claim-100150.json", "ClaimResponse-R3500.json", "Coverage-7546D.json", "Account-example.json",
        "Invoice-example.json")


def claim_bundle(charge_items: int) -> dict:
    resources = [json.loads((EXAMPLES / name).read_text()) for name in CASE]
    charge_item = json.loads((EXAMPLES / "ChargeItem-example.json").read_text())
    for number in range(charge_items):
        resources.append({**copy.deepcopy(charge_item), "id": f"ci-{number}"})
    return {"resourceType": "Bundle", "id": "bench", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources]}


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
    print(f"{label:<22} {len(durations) / sum(durations):8.0f}/s   p50 {statistics.median(durations) * 1e3:6.2f} ms"
          f"   p99 {p99 * 1e3:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--charge-items", type=int, default=40)
    args = parser.parse_args()
    bundle = claim_bundle(args.charge_items)
    size = len(canonical_bytes(bundle))
    print(f"Bundle: {len(bundle['entry'])} entries, {size:,} canonical bytes, {args.rounds} rounds")
    report("canonical_bytes", timed(lambda: canonical_bytes(bundle), args.rounds))
    for alg in ("RS256", "ES256"):
        with tempfile.TemporaryDirectory() as directory:
            store = SigningKeyStore(directory, alg=alg)
            start = time.perf_counter()
            key = store.load_or_create()
            print(f"{alg}: key + certificate made in {(time.perf_counter() - start) * 1e3:.0f} ms")
            bench_alg(alg, key, store.jwks(), bundle, args.rounds)


def bench_alg(alg: str, key, jwks: dict, bundle: dict, rounds: int) -> None:
    who = {"reference": "Organization/bench"}
    signed = sign_bundle(bundle, key, who=who)
    report(f"{alg} sign_bundle", timed(lambda: sign_bundle(bundle, key, who=who), rounds))
    report(f"{alg} verify_bundle", timed(lambda: verify_bundle(signed), rounds))
    report(f"{alg} verify + JWKS", timed(lambda: verify_bundle(signed, jwks), rounds))


if __name__ == "__main__":
    main()
