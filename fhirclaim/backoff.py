"""The server's one retry schedule: exponential backoff with a cap and optional jitter (pipeline jobs, webhook
deliveries, E-Klaim transport retries).

After the n-th failed attempt the next one waits `initial * multiplier**(n-1)`, capped at `maximum`
(defaults 1 s, 2 s, 4 s, ... up to 1 h), spread by ±`jitter` of itself so that many deliveries that failed
together (a receiver's outage) do not all retry in the same second. The random source is passed in, so tests
fix it (or set jitter 0) and assert the exact schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 3600.0
    jitter: float = 0.0  # fraction of the delay, 0..1

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `failures` (>= 1) failed attempts in a row."""
        try:
            base = min(self.initial * self.multiplier ** max(failures - 1, 0), self.maximum)
        except OverflowError:  # so many failures in a row that the delay has long been the cap
            base = self.maximum
        if not self.jitter:
            return base
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))

    def schedule(self, attempts: int) -> list[float]:
        """The delays between `attempts` attempts without jitter (for documentation and tests)."""
        return [self.delay(n) for n in range(1, attempts)]
