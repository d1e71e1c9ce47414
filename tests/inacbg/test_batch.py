"""`fhirclaim group`: JSON lines in, grouper answers out, bad lines counted, a summary on stderr."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from inacbg_cases import claim, outpatient, stay_2016

from fhirclaim.cli import main
from fhirclaim.inacbg.batch import run_batch

HIP_2016 = stay_2016(kelas_rawat="2", diagnosa="S71.0#A00.1", procedure="81.52#88.38")


@pytest.fixture()
def claims_file(tmp_path):
    lines = [
        json.dumps({**HIP_2016, "nomor_sep": "SEP-1", "special_cmg": "RR04#YY01"}),   # 40,388,100 + 39,296,900
        json.dumps({**claim(), "nomor_sep": "SEP-2"}),                                 # K-4-17-I
        "",
        "{not json",
        json.dumps({**outpatient(diagnosa="J06.9"), "nomor_sep": "SEP-3"}),            # Q-5-42-0
        json.dumps([1, 2, 3]),
        json.dumps({**claim(tarif_rs="1000"), "nomor_sep": "SEP-4"}),                 # X-0-94-X
        json.dumps({**claim(diagnosa="A09.0"), "nomor_sep": "SEP-5", "special_cmg": ["DD02"]}),
    ]
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_group_command_writes_answers_and_a_summary(tmp_path, claims_file):
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["group", "--input", str(claims_file), "--output", str(output)])
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(answer["line"], answer["nomor_sep"], answer["response"]["cbg"]["code"]) for answer in answers] == [
        (1, "SEP-1", "M-1-04-II"), (2, "SEP-2", "K-4-17-I"), (5, "SEP-3", "Q-5-42-0"), (7, "SEP-4", "X-0-94-X"),
        (8, "SEP-5", "K-4-17-I")]
    first = answers[0]
    assert [special["tariff"] for special in first["response"]["special_cmg"]] == [13_099_000, 26_197_900]
    assert answers[4]["response"]["special_cmg"] == []  # DD02 was not offered for gastroenteritis
    assert result.stdout == ""

    k_4_17_i = int(answers[1]["response"]["cbg"]["tariff"])
    q_5_42_0 = int(answers[2]["response"]["cbg"]["tariff"])
    total = 40_388_100 + 13_099_000 + 26_197_900 + 2 * k_4_17_i + q_5_42_0
    stderr = result.stderr
    assert "line 4: not JSON" in stderr
    assert "line 6: not a JSON object but list" in stderr
    assert f"claims: 7  grouped: 4  error groups: 1  bad lines: 2  total tariff: Rp {total:,}" in stderr
    assert re.search(r"│ K\s+│.*│\s+2 │\s+" + f"{2 * k_4_17_i:,}", stderr)
    assert re.search(r"│ M\s+│.*│\s+1 │\s+79,685,000 │", stderr)
    assert re.search(r"│ X-0-94-X │ GAGAL: DATA TIDAK LENGKAP │\s+1 │", stderr)


def test_group_command_writes_to_stdout_without_output(claims_file):
    result = CliRunner().invoke(main, ["group", "--input", str(claims_file)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(json.loads(line)["response"]["inacbg_version"] == "5.1.0-emulated.1" for line in lines)
    assert "claims: 7" in result.stderr


def test_run_batch_returns_the_summary(tmp_path, claims_file):
    summary = run_batch(claims_file, tmp_path / "out.jsonl")
    assert (summary.lines, summary.grouped, len(summary.bad_lines)) == (7, 4, 2)
    assert dict(summary.per_cmg) == {"M": 1, "K": 2, "Q": 1}
    assert dict(summary.errors) == {"X-0-94-X": 1}
    assert [number for number, _ in summary.bad_lines] == [4, 6]


def test_an_empty_input_is_a_quiet_batch(tmp_path):
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(main, ["group", "--input", str(empty)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "claims: 0  grouped: 0  error groups: 0  bad lines: 0  total tariff: Rp 0" in result.stderr


def test_a_missing_input_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["group", "--input", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
