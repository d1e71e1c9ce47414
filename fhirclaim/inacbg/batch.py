"""Batch grouper (`fhirclaim group`): JSON lines of claims in, JSON lines of grouper answers out.

Each input line is one object of set_claim_data fields plus tgl_lahir and gender, as `Grouper.group` takes them;
an optional `special_cmg` ("RR04#YY01" or a list) asks for stage 2. Each output line is
`{"line": n, "nomor_sep": …, "response": …, "special_cmg_option": …, "tarif_alt": …}`. A line that is not a JSON
object is reported on stderr with its number, counted, and skipped; blank lines are ignored. Progress and the
closing summary (claims per CMG, error groups, total tariff) go to stderr, so stdout stays pure JSON lines.
examples/group-input.jsonl (shipped in fhirclaim.examples) is a small input.

An input that cannot be read, an output that cannot be written and a tariff table that does not load are
`StartupError`s (one line and exit 2 from the command line); bad lines are not, as the batch goes on without them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fhirclaim.inacbg.grouper import Grouper
from fhirclaim.inacbg.grouper_tables import load_tables
from fhirclaim.inacbg.tariffs import COLUMNS
from fhirclaim.startup import StartupError

_PROGRESS_STEP = 100
FORMAT_HINT = "each line must be one JSON object of set_claim_data fields (see `fhirclaim group --help`)"


@dataclass
class BatchSummary:
    """What a batch did; `total_tariff` sums the INA-CBG tariff with its top-ups over the grouped claims."""

    lines: int = 0
    grouped: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    per_cmg: Counter = field(default_factory=Counter)
    tariff_per_cmg: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    total_tariff: int = 0

    def add(self, answer: dict) -> None:
        response = answer["response"]
        code = response["cbg"]["code"]
        if code.startswith("X-"):
            self.errors[code] += 1
            return
        self.grouped += 1
        cmg = code.split("-")[0]
        tariff = claim_total(response)
        self.per_cmg[cmg] += 1
        self.tariff_per_cmg[cmg] += tariff
        self.total_tariff += tariff


def claim_total(response: dict) -> int:
    """CBG tariff + sub-acute + chronic + special CMG tariffs of one answer."""
    total = int(response["cbg"]["tariff"])
    total += sum(int(response[part]["tariff"]) for part in ("sub_acute", "chronic") if part in response)
    return total + sum(int(special["tariff"]) for special in response.get("special_cmg", []))


def run_batch(input_path: Path, output_path: Path | None, tariff_table: Path | None = None) -> BatchSummary:
    """Group every claim of `input_path`; answers to `output_path` (stdout when None). Returns the summary."""
    console = Console(stderr=True)
    grouper = load_grouper(tariff_table)
    summary = BatchSummary()
    total = _count_lines(input_path)
    with (_open(input_path, "r", "--input") as source,
          _open(output_path, "w", "--output") if output_path else nullcontext(sys.stdout) as out,
          _progress(console) as progress):
        task = progress.add_task("grouping", total=total)
        for number, line in enumerate(source, start=1):
            if line.strip():
                _group_line(grouper, number, line, out, summary)
            if number % _PROGRESS_STEP == 0:  # a bar update per line would cost a tenth of the time
                progress.update(task, completed=number)
        progress.update(task, completed=total)
    for number, reason in summary.bad_lines:
        console.print(f"[red]line {number}[/red]: {reason}", highlight=False, soft_wrap=True)
    if summary.bad_lines:
        console.print(FORMAT_HINT, highlight=False, soft_wrap=True)
    _print_summary(console, summary)
    return summary


def _group_line(grouper: Grouper, number: int, line: str, out: IO[str], summary: BatchSummary) -> None:
    summary.lines += 1
    try:
        claim = json.loads(line)
    except ValueError as error:
        summary.bad_lines.append((number, f"not JSON ({error})"))
        return
    if not isinstance(claim, dict):
        summary.bad_lines.append((number, f"not a JSON object but {type(claim).__name__}"))
        return
    answer = grouper.group(claim, _special_cmg(claim.get("special_cmg")))
    summary.add(answer)
    out.write(json.dumps({"line": number, "nomor_sep": claim.get("nomor_sep"), **answer}, ensure_ascii=False))
    out.write("\n")


def _special_cmg(value: Any) -> list[str]:
    if isinstance(value, str):
        return [code for code in value.split("#") if code.strip()]
    return [str(code) for code in value] if isinstance(value, list) else []


def load_grouper(tariff_table: Path | None) -> Grouper:
    """The grouper, on the hospital's own tariff CSV when one is named; StartupError when that does not load."""
    if tariff_table is None:
        return Grouper()
    columns = ",".join(COLUMNS)
    try:
        return Grouper(tariff_table)
    except OSError as exc:
        raise StartupError(f"cannot read the tariff table {tariff_table} ({exc.strerror or exc}): --tariff-table "
                           f"names a CSV with the columns {columns}") from None
    except (ValueError, csv.Error) as exc:  # the loader's ValueError names the line; UnicodeDecodeError is one too
        raise StartupError(f"tariff table {tariff_table} does not load: {exc} (the CSV needs the columns {columns}: "
                           "edition 2016 or 2023, kelas kelas_1..kelas_3, tariff in whole rupiah)") from None


def _open(path: Path, mode: str, option: str) -> IO[str]:
    try:
        return open(path, mode, encoding="utf-8-sig" if mode == "r" else "utf-8")  # noqa: SIM115
    except OSError as exc:
        raise _cannot_open(path, mode, option, exc) from None


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError as exc:
        raise _cannot_open(path, "r", "--input", exc) from None


def _cannot_open(path: Path, mode: str, option: str, exc: OSError) -> StartupError:
    if mode == "r" and isinstance(exc, FileNotFoundError):
        return StartupError(f"{option} {path} does not exist: name a file of JSON lines, one set_claim_data object "
                            "per line (see `fhirclaim group --help`)")
    doing, able = ("read", "read") if mode == "r" else ("write", "written")
    return StartupError(f"cannot {doing} {option} {path} ({exc.strerror or exc}): name a file that can be {able}")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def _print_summary(console: Console, summary: BatchSummary) -> None:
    tables = load_tables()
    if summary.per_cmg:
        grouped = Table(title="Claims per CMG")
        for column, justify in (("CMG", "left"), ("description", "left"), ("claims", "right"), ("tariff", "right")):
            grouped.add_column(column, justify=justify)
        for cmg in sorted(summary.per_cmg):
            grouped.add_row(cmg, tables.cmg_names.get(cmg, ""), str(summary.per_cmg[cmg]),
                            f"{summary.tariff_per_cmg[cmg]:,}")
        console.print(grouped)
    if summary.errors:
        errors = Table(title="Error groups")
        for column, justify in (("group", "left"), ("description", "left"), ("claims", "right")):
            errors.add_column(column, justify=justify)
        for code in sorted(summary.errors):
            errors.add_row(code, tables.errors.get(code, ""), str(summary.errors[code]))
        console.print(errors)
    console.print(f"claims: {summary.lines}  grouped: {summary.grouped}  error groups: {sum(summary.errors.values())}"
                  f"  bad lines: {len(summary.bad_lines)}  total tariff: Rp {summary.total_tariff:,}",
                  highlight=False, soft_wrap=True)
