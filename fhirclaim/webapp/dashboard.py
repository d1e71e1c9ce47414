"""The manager's month: claims per status, INA-CBG against the hospital's tariff per care type, days from
discharge to submission and to payment, and a Pareto of what held claims up (seed 003's FMEA view). Figures come
from the worklist lines of the month (`WorklistRepository.since`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from statistics import mean
from typing import Any


@dataclass
class Dashboard:
    total: int = 0
    per_status: list[tuple[str, int]] = field(default_factory=list)
    per_care_type: list[dict[str, Any]] = field(default_factory=list)  # care_type, tariff, tarif_rs, gain
    days_to_submission: float | None = None
    days_to_payment: float | None = None
    pareto: list[tuple[str, int, float]] = field(default_factory=list)  # cause, count, cumulative %


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def dashboard(lines: list[dict[str, Any]], top: int = 12) -> Dashboard:
    board = Dashboard(total=len(lines))
    board.per_status = Counter(line["status"] for line in lines).most_common()
    board.per_care_type = _tariffs(lines)
    board.days_to_submission = _days(lines, "submitted_at")
    board.days_to_payment = _days(lines, "paid_at")
    causes = Counter(cause for line in lines for cause in (line.get("causes") or "").split(",") if cause)
    running, total = 0, sum(causes.values()) or 1
    for cause, count in causes.most_common(top):
        running += count
        board.pareto.append((cause, count, round(100 * running / total, 1)))
    return board


def _tariffs(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sums: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        if line.get("tariff") is None:
            continue
        kind = line.get("care_type") or "unknown"
        entry = sums.setdefault(kind, {"tariff": Decimal(0), "tarif_rs": Decimal(0)})
        entry["tariff"] += Decimal(line["tariff"])
        entry["tarif_rs"] += Decimal(line.get("tarif_rs") or 0)
    return [{"care_type": kind, **values, "gain": values["tariff"] - values["tarif_rs"]}
            for kind, values in sorted(sums.items())]


def _days(lines: list[dict[str, Any]], column: str) -> float | None:
    spans = [(line[column] - line["episode_end"]).total_seconds() / 86400 for line in lines
             if line.get(column) and line.get("episode_end")]
    return round(mean(spans), 1) if spans else None
