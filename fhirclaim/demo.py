"""`fhirclaim demo`: the whole Klaim BPJS flow (seed 000) for the example cases, on an embedded sandbox.

What a new user runs first. It starts the server in this process on a temporary data directory — SQLite, the
embedded E-Klaim, a fresh signing key, one OAuth2 client per role as `serve --sandbox` makes them — and speaks to it
over its real HTTP API (Flask's in-process client: no port), each party with its own bearer token:

    hospital (facility)  posts the case's transaction Bundle
    E-Klaim (eklaim)     submits the Claim: precheck, E-Klaim, INA-CBG grouping, final, signed Bundle
    BPJS-K (bpjs)        reads the signed Bundle and verifies its signature
    BPJS-K simulator     purifies (its grace period set to 0 and its pass run right away)
    hospital             answers the purification with a PurificationDecision 'Lanjut'
    BPJS-K simulator     verifies, the class upgrade's excess as copay
    hospital             reads BPJS-K's answers back

Case 06 (a readmission, `"pending"` in expected-results.json) goes further, after its earlier episode went the
whole way: BPJS-K's verifier returns it as pending (reason readmission), the hospital confirms it with the earlier
episode's resume (a new Claim version with the pending-answer extension, `fhirclaim.bpjs.confirmation`); that
changes nothing E-Klaim is told, so the new version is signed with E-Klaim's grouping without a re-edit (which a 5.10
E-Klaim refuses for a sent claim, E2039), then purified, decided and verified 'Layak'.

Each case ends as `examples/expected-results.json` documents it (CBG, INA-CBG tariff, copay; the rules a rejected
claim breaks), or the demo says what differs and exits non-zero.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from fhirclaim.bpjs import codes
from fhirclaim.config import Settings
from fhirclaim.sandbox import DEMO_HOSPITAL, sandbox_clients

# examples/ ships as the package fhirclaim.examples; pip installs unpack it, so it is a real directory
EXAMPLES = Path(str(resources.files("fhirclaim.examples")))
EXPECTED = "expected-results.json"
KEMKES = codes.KEMKES
PRECHECK_RULES = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"
Resource = dict[str, Any]


# --- the embedded sandbox ----------------------------------------------------------------------------------


class DemoSettings(Settings):
    """The embedded defaults, whatever `FHIRCLAIM_*` the shell holds (a PostgreSQL URL, a real E-Klaim, another
    kode_tarif): the demo runs on its own temporary sandbox and shows the documented figures."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *sources, **named_sources):
        return (init_settings,)


class DemoSandbox:
    """The server in this process, reached over its HTTP API, one bearer token per role."""

    def __init__(self, data_dir: Path, eklaim_protocol: str | None = None):
        from fhirclaim.app import create_app
        from fhirclaim.runtime import Runtime

        protocol = {"eklaim_protocol": eklaim_protocol} if eklaim_protocol else {}
        settings = DemoSettings(data_dir=data_dir, sandbox=True, run_worker=False, bpjs_simulator_delay_seconds=0,
                                **protocol)
        self.runtime = Runtime(settings)
        self.http = create_app(settings, self.runtime).test_client()
        clients = sandbox_clients(self.runtime.clients, self.runtime.data_dir)
        self.tokens = {role: self._token(client) for role, client in clients.items()}

    def _token(self, client: dict[str, str]) -> str:
        answer = self.http.post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                data={"client_id": client["client_id"], "client_secret": client["client_secret"]})
        if answer.status_code != 200:
            raise RuntimeError(f"the sandbox refused its own client: {answer.get_data(as_text=True)}")
        return answer.get_json()["access_token"]

    def call(self, role: str, method: str, path: str, body: Any = None) -> tuple[int, Resource]:
        """One FHIR interaction as `role`: the status and the parsed answer."""
        answer = self.http.open(f"/fhir{path}", method=method, json=body,
                                headers={"Authorization": f"Bearer {self.tokens[role]}",
                                         "Accept": "application/fhir+json"})
        return answer.status_code, answer.get_json(silent=True) or {}

    def bpjs_answers(self) -> int:
        """BPJS-K's turn: the simulator answers whatever is due (everything: its grace period is 0)."""
        return self.runtime.bpjs_simulator.run_due(self.runtime.store)

    def run_pipeline(self) -> None:
        """The server's worker: run every queued claim job (the hospital's update of a Claim queues one)."""
        from fhirclaim.claims.pipeline_worker import PipelineWorker

        PipelineWorker(self.runtime.pipeline).run_until_idle()

    def close(self) -> None:
        self.runtime.close()


# --- one case ------------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    name: str
    outcome: str | None = None  # the grouping ClaimResponse's: complete, partial, error
    cbg: str | None = None  # the base CBG
    special_cmgs: list[str] = field(default_factory=list)  # the additional packages (special CMGs) grouped with it
    tariff: int | None = None  # INA-CBG: the CBG tariff plus every additional package
    rules: list[str] = field(default_factory=list)  # precheck rules whose errors stopped the claim
    signature: str | None = None  # "valid" or why not
    purification: str | None = None
    decision: str | None = None
    copay: int | None = None
    payment: int | None = None
    problems: list[str] = field(default_factory=list)  # where the case did not end as documented

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def grouping(self) -> str | None:
        """The whole grouping as E-Klaim gives it: `M-1-04-I + YY-01-II + RR-04-III-Hip` (base CBG + special CMGs)."""
        return " + ".join([self.cbg, *self.special_cmgs]) if self.cbg else None


class Step(Protocol):
    """Reports one step: what it showed, and whether it could be done."""

    def __call__(self, text: str, ok: bool = True) -> None: ...


class CaseRun:
    """The flow of one example case, step by step; it stops at the first step that cannot be done (_Stop), and its
    result says why."""

    STEPS = 7

    def __init__(self, sandbox: DemoSandbox, case_dir: Path, step: Step):
        self.sandbox, self.case_dir, self.step = sandbox, case_dir, step
        self.result = CaseResult(case_dir.name)
        self.transaction = json.loads((case_dir / "transaction.json").read_text(encoding="utf-8"))
        self.claim_id = next(e["resource"]["id"] for e in self.transaction["entry"]
                             if e["resource"]["resourceType"] == "Claim")

    def run(self, expected: dict[str, Any]) -> CaseResult:
        try:
            self.post_transaction()
            self.submit()
            if self.result.outcome != "error":
                self.check_signature()
                purification = self.purification()
                self.decide(purification)
                self.verification()
                self.read_back()
        except _Stop as stop:  # what did not happen afterwards is no news: the reason is
            self.step(str(stop), False)
            self.result.problems.append(str(stop))
            return self.result
        self.result.problems += differences(self.result, expected)
        return self.result

    def post_transaction(self) -> None:
        status, answer = self.sandbox.call("facility", "POST", "", self.transaction)
        self._expect(status, 200, "transaction", answer)
        self.step(f"RS / hospital: transaction stored, {len(answer.get('entry', []))} resources")

    def submit(self) -> None:
        _, claim = self.sandbox.call("facility", "GET", f"/Claim/{self.claim_id}")
        status, answer = self.sandbox.call("eklaim", "POST", "/Claim/$submit", claim)
        self._expect(status, 200, "Claim/$submit", answer)
        grouping = answer["entry"][0]["resource"]
        result = self.result
        result.outcome = grouping.get("outcome")
        if result.outcome == "error":
            result.rules = precheck_errors(grouping)
            self.step(f"E-Klaim: rejected before E-Klaim by the precheck: {', '.join(result.rules)}")
            return
        packages = [(a["productOrService"]["coding"][0]["code"], a["net"]["value"]) for a in grouping["addItem"]]
        result.cbg, result.tariff = packages[0][0], sum(value for _, value in packages)
        result.special_cmgs = [code for code, _ in packages[1:]]
        self.step(f"E-Klaim: grouped {result.grouping}, INA-CBG {rupiah(result.tariff)}")

    def check_signature(self) -> None:
        status, found = self.sandbox.call("bpjs", "GET", f"/Bundle?claim=Claim/{self.claim_id}")
        self._expect(status, 200, "Bundle search", found)
        if not found.get("entry"):
            raise _Stop("no signed claim Bundle was published")
        bundle = found["entry"][0]["resource"]
        status, outcome = self.sandbox.call("bpjs", "POST", "/Bundle/$verify-signature", bundle)
        text = outcome.get("issue", [{}])[0].get("details", {}).get("text", "")
        self.result.signature = "valid" if status == 200 and text.startswith("signature valid") else text or "?"
        self.step(f"BPJS-K: signed Bundle ({len(bundle['entry'])} entries), {text.split(' signature by')[0]}")

    def purification(self) -> Resource:
        self.sandbox.bpjs_answers()
        purification = self._answer(codes.PURIFIKASI)
        passed = codes.purification_passed(purification)
        self.result.purification = "Lolos Purifikasi" if passed else "Tidak Lolos Purifikasi"
        self.step(f"BPJS-K simulator: purification {self.result.purification}")
        return purification

    def decide(self, purification: Resource) -> None:
        status, decision = self.sandbox.call("facility", "POST", "/PurificationDecision", lanjut(purification))
        self._expect(status, 201, "PurificationDecision", decision)
        self.result.decision = decision["status"]["coding"][0]["display"]
        self.step(f"RS / hospital: PurificationDecision {self.result.decision}")

    def verification(self) -> None:
        self.sandbox.bpjs_answers()
        verification = self._answer(codes.VERIFIKASI)
        self.result.copay = copay_of(verification)
        self.result.payment = verification.get("payment", {}).get("amount", {}).get("value")
        self.step(f"BPJS-K simulator: verification, payment {rupiah(self.result.payment)}, "
                  f"copay {rupiah(self.result.copay)}")

    def read_back(self) -> None:
        status, found = self.sandbox.call("facility", "GET", f"/ClaimResponse?request=Claim/{self.claim_id}")
        self._expect(status, 200, "ClaimResponse search", found)
        kinds = sorted(e["resource"]["subType"]["coding"][0]["code"] for e in found.get("entry", []))
        self.step(f"RS / hospital: reads {', '.join(kinds)}")
        if kinds != ["grouping", codes.PURIFIKASI, codes.VERIFIKASI]:
            raise _Stop(f"the hospital reads {kinds}, not grouping, purification and verification")

    def _answer(self, subtype: str) -> Resource:
        """BPJS-K's answer of a subType, as the hospital reads it."""
        _, found = self.sandbox.call("facility", "GET", f"/ClaimResponse?request=Claim/{self.claim_id}")
        answers = [e["resource"] for e in found.get("entry", []) if codes.bpjs_subtype(e["resource"]) == subtype]
        if not answers:
            raise _Stop(f"BPJS-K gave no {subtype}")
        return max(answers, key=lambda r: r["meta"]["lastUpdated"])  # the newest: a resubmission has its own

    @staticmethod
    def _expect(status: int, wanted: int, what: str, answer: Resource) -> None:
        if status != wanted:
            issues = "; ".join(i.get("details", {}).get("text", "") for i in answer.get("issue", []))
            raise _Stop(f"{what} answered {status}: {issues}")


class PendingCaseRun(CaseRun):
    """Case 06: the earlier episode the whole way, then the readmission BPJS-K returns as pending, the hospital's
    confirmation with the earlier episode's resume, and the new version verified."""

    STEPS = 20

    def run(self, expected: dict[str, Any]) -> CaseResult:
        pending = expected["pending"]
        try:
            self.earlier_episode()
            self.post_transaction()
            self.submit()
            self.check_signature()
            self.decide(self.purification())
            self.confirm(self.pending(pending["reason"]), pending)
            self.check_signature()
            self.decide(self.purification())
            self.verification()
        except _Stop as stop:
            self.step(str(stop), False)
            self.result.problems.append(str(stop))
            return self.result
        self.result.problems += differences(self.result, expected)
        return self.result

    def earlier_episode(self) -> None:
        earlier = CaseRun(self.sandbox, self.case_dir, self.step)
        earlier.transaction = json.loads((self.case_dir / "earlier-episode.json").read_text(encoding="utf-8"))
        earlier.claim_id = next(e["resource"]["id"] for e in earlier.transaction["entry"]
                                if e["resource"]["resourceType"] == "Claim")
        self.step("the earlier episode, the whole way:")
        earlier.post_transaction()
        earlier.submit()
        earlier.decide(earlier.purification())
        earlier.verification()
        self.step("the readmission:")

    def pending(self, reason: str) -> Resource:
        self.sandbox.bpjs_answers()
        verification = self._answer(codes.VERIFIKASI)
        reasons = codes.pending_reasons(verification)
        if not codes.verification_pending(verification) or reasons != [reason]:
            raise _Stop(f"BPJS-K's verification is not pending for {reason}: {verification.get('disposition')}")
        self.step(f"BPJS-K simulator: verification {verification['disposition']} (outcome partial, no payment)")
        return verification

    def confirm(self, pending: Resource, answer: dict[str, Any]) -> None:
        """The hospital's answer over REST: the Claim's new version (what `bpjs.answer_pending` writes)."""
        from fhirclaim.bpjs.confirmation import answer_extension

        _, claim = self.sandbox.call("facility", "GET", f"/Claim/{self.claim_id}")
        claim.pop("meta", None)
        claim["extension"] = [answer_extension(pending["id"], answer["answer"], answer["text"])]
        claim["supportingInfo"].append({
            "sequence": len(claim["supportingInfo"]) + 1,
            "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory",
                                     "code": "attachment"}]},
            "valueReference": {"reference": answer["document"]}})
        status, stored = self.sandbox.call("facility", "PUT", f"/Claim/{self.claim_id}", claim)
        self._expect(status, 200, "the hospital's answer (PUT Claim)", stored)
        self.step(f"RS / hospital: answers {answer['answer']} with {answer['document']}, Claim version "
                  f"{stored['meta']['versionId']}")
        self.sandbox.run_pipeline()
        self.step("E-Klaim: re-edited, grouped, final and sent again; a new Bundle version signed")


class _Stop(Exception):
    """A step could not be done: the case stops there."""


# --- reading and checking results ------------------------------------------------------------------------------


def precheck_errors(grouping: Resource) -> list[str]:
    """The precheck rules whose errors stopped a claim (the grouping ClaimResponse's `error` codes)."""
    return [c["code"] for e in grouping.get("error", []) for c in e.get("code", {}).get("coding", [])
            if c.get("system") == PRECHECK_RULES]


def copay_of(response: Resource) -> int:
    """The patient's excess: the sum of item adjudications of category copay (SATUSEHAT's place for it)."""
    return sum(int(a["amount"]["value"]) for item in response.get("item", []) for a in item.get("adjudication", [])
               if a["category"]["coding"][0]["code"] == "copay")


def lanjut(purification: Resource) -> Resource:
    """The hospital's decision to go on with a purified claim (reference/satusehat/.../purification-decision.json)."""
    now = datetime.now(ZoneInfo("Asia/Jakarta")).replace(microsecond=0)
    return {
        "resourceType": "PurificationDecision",
        "identifier": [{"system": f"http://sys-ids.kemkes.go.id/purificationdecision/{DEMO_HOSPITAL}",
                        "value": f"PD-{purification['request']['reference'].split('/')[-1]}"}],
        "created": now.isoformat(),
        "status": {"coding": [{"system": KEMKES, "code": "TK000049", "display": "Lanjut"}]},
        "insurer": purification["insurer"],
        "provider": {"reference": f"Organization/{DEMO_HOSPITAL}"},
        "claimResponse": {"reference": f"ClaimResponse/{purification['id']}"},
    }


def differences(result: CaseResult, expected: dict[str, Any]) -> list[str]:
    """Where a case's result differs from what examples/expected-results.json documents."""
    wanted = {"outcome": expected.get("outcome"), "cbg": expected.get("cbg"), "tariff": expected.get("tariff"),
              "rules": expected.get("precheck_errors", []), "copay": expected.get("copay")}
    if expected.get("outcome") != "error":
        wanted |= {"signature": "valid", "purification": "Lolos Purifikasi", "decision": "Lanjut"}
    if "packages" in expected:  # the CBG's package first, then the special CMGs'
        wanted["special_cmgs"] = [code for code in expected["packages"] if code != expected.get("cbg")]
    return [f"{name}: {getattr(result, name)!r}, documented {value!r}" for name, value in wanted.items()
            if getattr(result, name) != value]


def rupiah(value: int | None) -> str:
    return "-" if value is None else f"Rp {value:,}"


# --- the command ---------------------------------------------------------------------------------------------


def run_demo(examples_dir: Path | None = None, console: Console | None = None) -> bool:
    """Run every example case; print each step and a summary table. True when every case ended as documented."""
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 180)  # CI logs and pipes: keep the table's rows on one line each
    examples_dir = examples_dir or EXAMPLES
    if not (examples_dir / EXPECTED).exists():
        console.print(f"[red]No example cases at {examples_dir}[/]: pass --examples DIR "
                      "(the examples/ folder of the source)")
        return False
    expected = json.loads((examples_dir / EXPECTED).read_text(encoding="utf-8"))
    cases = [examples_dir / name for name in expected["cases"]]
    with tempfile.TemporaryDirectory(prefix="fhirclaim-demo-") as data_dir, _quiet_server_logs():
        console.print(f"Embedded sandbox in {data_dir}: starting (SQLite, E-Klaim emulator, signing key, clients)")
        sandbox = DemoSandbox(Path(data_dir))
        try:
            results = _run_cases(sandbox, cases, expected["cases"], console)
        finally:
            sandbox.close()
    console.print(summary_table(results))
    failed = [r for r in results if not r.ok]
    for result in failed:
        console.print(f"[red]{result.name} did not end as documented:[/] " + "; ".join(result.problems))
    console.print("[green]Every case ended as documented.[/]" if not failed else
                  f"[red]{len(failed)} of {len(results)} cases did not end as documented.[/]")
    return not failed


def _run_cases(sandbox: DemoSandbox, cases: list[Path], expected: dict[str, Any],
               console: Console) -> list[CaseResult]:
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        kind = {case_dir: PendingCaseRun if "pending" in expected[case_dir.name] else CaseRun for case_dir in cases}
        task = progress.add_task("Klaim BPJS flow", total=sum(kind[c].STEPS for c in cases))
        done = 0
        for case_dir in cases:
            documented = expected[case_dir.name]
            progress.console.print(f"\n[bold]{case_dir.name}[/] — {documented['title']}")

            def step(text: str, ok: bool = True) -> None:
                progress.console.print(f"  [green]✓[/] {text}" if ok else f"  [red]✗ {text}[/]")
                progress.advance(task)

            result = kind[case_dir](sandbox, case_dir, step).run(documented)
            done += kind[case_dir].STEPS
            progress.update(task, completed=done)
            results.append(result)
    return results


def summary_table(results: list[CaseResult]) -> Table:
    table = Table(title="fhirclaim demo: the Klaim BPJS flow per example case")
    for column in ("case", "outcome", "grouping", "INA-CBG tariff", "signature", "purification", "decision", "copay",
                   "as documented"):
        table.add_column(column)
    for r in results:
        grouping = r.grouping or (f"precheck: {len(r.rules)} errors" if r.rules else "-")
        table.add_row(r.name, r.outcome or "-", grouping, rupiah(r.tariff),
                      r.signature or "-", r.purification or "-", r.decision or "-", rupiah(r.copay),
                      "[green]yes[/]" if r.ok else "[red]NO[/]")
    return table


@contextmanager
def _quiet_server_logs() -> Iterator[None]:
    """The server's own log lines (JSON, for operators) would interleave with the demo's steps: only errors show."""
    logger = logging.getLogger("fhirclaim")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
