"""`fhirclaim demo` as a new user runs it (click's CliRunner, the real embedded sandbox): every example case through
the whole Klaim BPJS flow, the summary table's values, and a non-zero exit when a case does not end as documented."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from fhirclaim.cli import main

from testkit import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
COLUMNS = ["case", "outcome", "grouping", "INA-CBG tariff", "signature", "purification", "decision", "copay",
           "as documented"]


def run_demo(*args: str):
    return CliRunner().invoke(main, ["demo", *args], catch_exceptions=False)


def summary(output: str) -> dict[str, dict[str, str]]:
    """The summary table's rows by case (rich draws cells between │)."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == len(COLUMNS) and cells[0][:2].isdigit():
            rows[cells[0]] = dict(zip(COLUMNS, cells, strict=True))
    return rows


def cases_copy(tmp_path, *names: str, change=None):
    """A copy of examples/ with only `names` listed in expected-results.json, optionally changed by `change`."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("postman"))
    expected = json.loads((target / "expected-results.json").read_text())
    expected["cases"] = {name: expected["cases"][name] for name in names}
    if change:
        change(expected, target)
    (target / "expected-results.json").write_text(json.dumps(expected))
    return target


@pytest.fixture(scope="module")
def demo_run():
    return run_demo()


def test_every_case_ends_as_documented(demo_run):
    assert demo_run.exit_code == 0, demo_run.output
    assert "Every case ended as documented." in demo_run.output
    rows = summary(demo_run.output)
    assert [(r["case"], r["outcome"], r["grouping"], r["INA-CBG tariff"], r["copay"]) for r in rows.values()] == [
        ("01-outpatient-visit", "complete", "Q-5-42-0", "Rp 325,400", "Rp 0"),
        ("02-hip-replacement-special-cmg", "complete", "M-1-04-I + YY-01-II + RR-04-III-Hip", "Rp 62,503,200", "Rp 0"),
        ("03-class-upgrade", "complete", "J-4-10-II", "Rp 3,701,100", "Rp 314,500"),
        ("04-newborn", "complete", "P-8-11-II", "Rp 6,109,400", "Rp 0"),
        ("05-precheck-rejected", "error", "precheck: 3 errors", "-", "-"),
        ("06-pending-readmission", "complete", "J-4-10-II", "Rp 3,701,100", "Rp 314,500"),
    ]
    grouped = [rows[name] for name in rows if name != "05-precheck-rejected"]
    assert {(r["signature"], r["purification"], r["decision"]) for r in grouped} == {
        ("valid", "Lolos Purifikasi", "Lanjut")}
    assert (rows["05-precheck-rejected"]["signature"], rows["05-precheck-rejected"]["purification"]) == ("-", "-")
    assert {r["as documented"] for r in rows.values()} == {"yes"}


def test_each_step_is_shown_with_its_result(demo_run):
    output = demo_run.output
    assert output.count("✓ RS / hospital: transaction stored") == 7  # case 06: the earlier episode, the readmission
    assert "✓ E-Klaim: grouped M-1-04-I + YY-01-II + RR-04-III-Hip, INA-CBG Rp 62,503,200" in output
    assert output.count("signature valid: RS256") == 6  # case 06: Bundle versions 1 and 2
    assert output.count("✓ BPJS-K simulator: purification Lolos Purifikasi") == 7
    assert output.count("✓ RS / hospital: PurificationDecision Lanjut") == 7
    assert "✓ BPJS-K simulator: verification, payment Rp 3,701,100, copay Rp 314,500" in output
    assert output.count("✓ RS / hospital: reads grouping, purifikasi, verifikasi") == 4
    assert ("rejected before E-Klaim by the precheck: PRECHECK-DISCHARGE-BEFORE-ADMISSION, PRECHECK-TARIF-MINIMUM, "
            "PRECHECK-HEALTHY-NEWBORN") in output


def test_the_pending_round_trip_is_shown(demo_run):
    case = demo_run.output[demo_run.output.index("06-pending-readmission —"):]
    steps = [line.strip() for line in case.splitlines()[1:20]]
    assert steps[13].startswith("✓ RS / hospital: answers confirmed with DocumentReference/ex6a-discharge-summary, "
                                "Claim version ")
    assert steps[12:13] + steps[14:] == [
        "✓ BPJS-K simulator: verification Pending: Readmission to confirm (outcome partial, no payment)",
        "✓ E-Klaim: re-edited, grouped, final and sent again; a new Bundle version signed",
        "✓ BPJS-K: signed Bundle (21 entries), signature valid: RS256",
        "✓ BPJS-K simulator: purification Lolos Purifikasi",
        "✓ RS / hospital: PurificationDecision Lanjut",
        "✓ BPJS-K simulator: verification, payment Rp 3,701,100, copay Rp 314,500",
    ]


def test_a_case_that_differs_from_its_documentation_fails_the_demo(tmp_path):
    def wrong_copay(expected, _):
        expected["cases"]["03-class-upgrade"]["copay"] = 100_000

    result = run_demo("--examples", str(cases_copy(tmp_path, "03-class-upgrade", change=wrong_copay)))
    assert result.exit_code == 1
    assert summary(result.output)["03-class-upgrade"]["as documented"] == "NO"
    assert "03-class-upgrade did not end as documented: copay: 314500, documented 100000" in result.output
    assert "1 of 1 cases did not end as documented." in result.output


def test_a_step_the_server_refuses_stops_the_case_and_says_why(tmp_path):
    def malformed(_, target):
        path = target / "01-outpatient-visit" / "transaction.json"
        bundle = json.loads(path.read_text())
        bundle["entry"][6]["resource"]["status"] = "not-a-status"  # the Coverage
        path.write_text(json.dumps(bundle))

    result = run_demo("--examples", str(cases_copy(tmp_path, "01-outpatient-visit", "04-newborn", change=malformed)))
    assert result.exit_code == 1
    rows = summary(result.output)
    assert (rows["01-outpatient-visit"]["as documented"], rows["04-newborn"]["as documented"]) == ("NO", "yes")
    assert "✗ transaction answered 422: Entry 6 (PUT Coverage): Coverage.status: 'not-a-status'" in result.output
    assert "01-outpatient-visit did not end as documented: transaction answered 422" in result.output


def test_the_summary_shows_the_whole_grouping_as_the_progress_line_does(demo_run):
    """Base CBG and special CMGs, in E-Klaim's order, in the summary row as in the step that grouped the case."""
    row = summary(demo_run.output)["02-hip-replacement-special-cmg"]
    assert row["grouping"] == "M-1-04-I + YY-01-II + RR-04-III-Hip"
    assert f"✓ E-Klaim: grouped {row['grouping']}, INA-CBG {row['INA-CBG tariff']}" in demo_run.output


def test_special_cmgs_other_than_documented_fail_the_demo(tmp_path):
    def other_special_cmg(expected, _):
        expected["cases"]["02-hip-replacement-special-cmg"]["packages"] = {"M-1-04-I": 31404200, "YY-01-II": 13099000}

    result = run_demo("--examples", str(cases_copy(tmp_path, "02-hip-replacement-special-cmg",
                                                   change=other_special_cmg)))
    assert result.exit_code == 1
    row = summary(result.output)["02-hip-replacement-special-cmg"]
    assert (row["grouping"], row["as documented"]) == ("M-1-04-I + YY-01-II + RR-04-III-Hip", "NO")
    assert ("special_cmgs: ['YY-01-II', 'RR-04-III-Hip'], documented ['YY-01-II']"
            in " ".join(result.output.split()))


def test_without_example_cases_it_says_where_it_looked(tmp_path):
    result = run_demo("--examples", str(tmp_path))
    assert result.exit_code == 1
    assert f"No example cases at {tmp_path}" in " ".join(result.output.split())


def test_the_shells_fhirclaim_settings_do_not_reach_the_demo(tmp_path, monkeypatch):
    """A FHIRCLAIM_DATABASE_URL (CI's PostgreSQL run), a real E-Klaim or another tariff class in the environment
    would change the figures or write elsewhere: the demo keeps to its own sandbox."""
    monkeypatch.setenv("FHIRCLAIM_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("FHIRCLAIM_EKLAIM_URL", "http://127.0.0.1:1/E-Klaim/ws.php")
    monkeypatch.setenv("FHIRCLAIM_EKLAIM_KEY", "0" * 64)
    monkeypatch.setenv("FHIRCLAIM_KODE_TARIF", "AP")
    result = run_demo("--examples", str(cases_copy(tmp_path, "03-class-upgrade")))
    assert result.exit_code == 0, result.output
    row = summary(result.output)["03-class-upgrade"]
    assert (row["grouping"], row["INA-CBG tariff"], row["copay"]) == ("J-4-10-II", "Rp 3,701,100", "Rp 314,500")
