"""A longer no-5xx fuzz campaign than the test suite's (issue 13): hostile requests to every route of the route table.

    python benchmarks/fuzz.py [--requests 20000] [--seed 13] [--max-seconds S]

The requests are tests/fuzzkit.py's hypothesis strategies (mutated example resources, hostile parameters and
headers, every role). They go to the app in-process (Flask's test client on the real app: the in-process E-Klaim
emulator, SQLite in a temporary data dir, seeded with the example cases), not over a socket: the server's own code
is what is fuzzed, and a socket would only slow the campaign. Prints the status counts, the rate, and each 5xx
(its request); exits 1 when there was one. The requests go in hypothesis runs of 500 (seeds `--seed`, +1, ...);
`--max-seconds` starts no new run after that long (on a loaded machine), and the figures say how many were sent.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # fuzzkit, testkit

import fuzzkit  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

CHUNK = 500  # requests per hypothesis run; the time budget is checked between runs


def campaign(requests: int, seed_value: int, max_seconds: float) -> int:
    target = fuzzkit.FuzzTarget()
    failures: list[str] = []

    def run(chunk_seed: int, examples: int) -> None:
        @seed(chunk_seed)
        @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.generate])
        @given(fuzzkit.requests())
        def fuzz(request: fuzzkit.FuzzRequest) -> None:
            status = target.send(request).status_code
            if status >= 500:
                failures.append(f"{status} {request.describe()}")

        fuzz()

    started = time.perf_counter()
    chunk = 0
    while sum(target.statuses.values()) < requests and time.perf_counter() - started < max_seconds:
        run(seed_value + chunk, min(CHUNK, requests - sum(target.statuses.values())))
        chunk += 1
    seconds = time.perf_counter() - started
    sent = sum(target.statuses.values())
    target.close()
    print(f"{sent} requests in {seconds:.0f} s ({sent / seconds:.0f}/s), in-process, seeds {seed_value}.."
          f"{seed_value + chunk - 1}")
    print("status counts: " + ", ".join(f"{status}: {count}" for status, count in sorted(target.statuses.items())))
    print(f"routes reached: {len(target.endpoints)} of {len(fuzzkit.surface.TABLE)}")
    print(f"5xx: {len(failures)}")
    for failure in failures[:20]:
        print("  " + failure[:500])
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests to send [20000]")
    parser.add_argument("--seed", type=int, default=13, help="hypothesis seed [13]")
    parser.add_argument("--max-seconds", type=float, default=float("inf"), help="no new run after this long")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # a 5xx is printed here; the app's own traceback lines would drown it
    sys.exit(campaign(args.requests, args.seed, args.max_seconds))


if __name__ == "__main__":
    main()
