"""Bad starts as a user meets them: one line on stderr naming the problem and the fix, exit status 2, no traceback.

Commands that build the server's Runtime (serve, worker) run as real processes (they configure logging for the
whole process); the others run in click's CliRunner. Every process gets an environment without FHIRCLAIM_*
variables (CI sets FHIRCLAIM_DATABASE_URL), so that SQLite in the test's data dir is what they use unless a test
says otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirclaim.cli import main
from fhirclaim.startup import StartupError, check_can_listen, ensure_directory
from fhirclaim.store.db import Database, check_database_url, describe_url, sqlite_path

from testkit import REPO_ROOT

EXAMPLE_INPUT = REPO_ROOT / "examples" / "group-input.jsonl"


def _environment(**variables: str) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FHIRCLAIM_")}
    return {**clean, **variables}


def _run(*args: str, cwd: Path, timeout: float = 90, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fhirclaim.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=_environment(**variables), timeout=timeout)


def _invoke(*args: str, **variables: str):
    return CliRunner().invoke(main, list(args), env={**{name: None for name in os.environ
                                                       if name.startswith("FHIRCLAIM_")}, **variables})


def _is_log_record(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and "level" in record and "logger" in record


def one_error_line(code: int, stderr: str, *words: str, logs_allowed: bool = False) -> str:
    """The single error line of a bad start, after checking exit status 2, no traceback and `words` in it.

    `logs_allowed`: JSON log records of work done before the failure (migrations) may precede the line."""
    assert "Traceback" not in stderr, stderr
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    if logs_allowed:
        lines = [line for line in lines if not _is_log_record(line)]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    for word in words:
        assert word.lower() in line.lower(), f"{word!r} not in {line!r}"
    return line


@pytest.fixture
def listening():
    """A port something listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


# --- port in use ----------------------------------------------------------------------------------------------


def test_serve_on_a_port_in_use(tmp_path, listening):
    result = _run("serve", "--port", str(listening), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    one_error_line(result.returncode, result.stderr, f"port {listening}", "already in use", "--port")
    assert not (tmp_path / "d").exists(), "nothing is created before the port is known to be free"


def test_eklaim_emulator_on_a_port_in_use(tmp_path, listening):
    result = _invoke("eklaim-emulator", "--port", str(listening), "--data-dir", str(tmp_path / "e"))
    one_error_line(result.exit_code, result.stderr, f"port {listening}", "already in use", "--port")
    assert not (tmp_path / "e").exists()


def test_check_can_listen(listening):
    with pytest.raises(StartupError, match="already in use"):
        check_can_listen("127.0.0.1", listening)
    with pytest.raises(StartupError, match="not a port number"):
        check_can_listen("127.0.0.1", 70000)
    with pytest.raises(StartupError, match="not an address of this machine"):
        check_can_listen("192.0.2.1", 0)  # TEST-NET-1: never an address of this machine
    check_can_listen("127.0.0.1", 0)


# --- database URL ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "words"), [
    ("postgres://fhir:s3cret@db.example/fhirclaim", ["postgres", "postgresql+psycopg://", "--database-url"]),
    ("notaurl", ["'notaurl'", "not a SQLAlchemy URL", "postgresql+psycopg://"]),
    ("mysql+nodriver://u@h/db", ["unknown database driver", "mysql+nodriver"]),
])
def test_serve_with_a_malformed_database_url(tmp_path, url, words):
    result = _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--database-url", url, cwd=tmp_path)
    line = one_error_line(result.returncode, result.stderr, *words)
    assert "s3cret" not in line


def test_the_database_url_from_the_environment_is_checked_too(tmp_path):
    result = _run("worker", "--once", "--data-dir", str(tmp_path / "d"), cwd=tmp_path,
                  FHIRCLAIM_DATABASE_URL="postgres://u@localhost/db")
    one_error_line(result.returncode, result.stderr, "postgresql+psycopg://")


@pytest.mark.parametrize(("url", "message"), [
    ("postgres://u:pw@localhost/db", "dialect name 'postgres'"),
    ("postgres+psycopg://u@localhost/db", "dialect name 'postgres'"),
    ("notaurl", "not a SQLAlchemy URL"),
    ("", "not a SQLAlchemy URL"),
    ("http://example.org/db", "unknown database driver 'http'"),
    ("mysql+nodriver://u@h/db", "unknown database driver 'mysql+nodriver'"),
    ("mysql+pymysql://u@h/db", "runs on PostgreSQL or SQLite, not mysql"),
    ("postgresql+asyncpg://u@h/db", "asyncio driver"),
    ("postgresql+pg8000://u@h/db", "not installed"),
])
def test_check_database_url_refuses(url, message):
    with pytest.raises(StartupError, match=re.escape(message)) as caught:
        check_database_url(url)
    assert "pw" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///relative.db", "sqlite:////abs/x.db",
                                 "postgresql://u@h/db", "postgresql+psycopg://u:pw@h:5432/db?sslmode=require"])
def test_check_database_url_accepts(url):
    assert check_database_url(url).drivername.split("+")[0] in ("sqlite", "postgresql")


def test_sqlite_path_and_describe_url(tmp_path):
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite:///relative.db") == Path.cwd() / "relative.db"
    assert sqlite_path("sqlite://") is None and sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql+psycopg://u@h/db") is None and sqlite_path("notaurl") is None
    assert describe_url(f"sqlite:///{tmp_path}/x.db") == str(tmp_path / "x.db")
    assert describe_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"


# --- unreachable database -------------------------------------------------------------------------------------


def test_serve_with_an_unreachable_database(tmp_path):
    started = time.monotonic()
    result = _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--database-url",
                  "postgresql+psycopg://fhir:s3cret@127.0.0.1:1/fhirclaim", cwd=tmp_path)
    line = one_error_line(result.returncode, result.stderr, "cannot connect to the database", "127.0.0.1:1",
                          "refused", "FHIRCLAIM_DATABASE_URL")
    assert "s3cret" not in line
    assert time.monotonic() - started < 60


def test_a_database_that_never_answers_times_out(tmp_path):
    """A server that accepts the connection and says nothing (a firewall, a hung host): the connect timeout ends it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        database = Database(f"postgresql+psycopg://u@127.0.0.1:{silent.getsockname()[1]}/db", connect_timeout=2)
        started = time.monotonic()
        with pytest.raises(StartupError, match="timeout"):
            database.migrate()
        assert time.monotonic() - started < 15
        database.dispose()


def test_the_connect_timeout_is_a_setting(tmp_path):
    result = _run("worker", "--once", "--data-dir", str(tmp_path / "d"), cwd=tmp_path,
                  FHIRCLAIM_DATABASE_URL="postgresql+psycopg://u@127.0.0.1:1/db",
                  FHIRCLAIM_DATABASE_CONNECT_TIMEOUT_SECONDS="-1")
    one_error_line(result.returncode, result.stderr, "FHIRCLAIM_DATABASE_CONNECT_TIMEOUT_SECONDS")


def test_a_file_that_is_not_a_sqlite_database(tmp_path):
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "fhirclaim.db").write_text("hello, not SQLite\n" * 200)
    result = _run("worker", "--once", "--data-dir", str(data_dir), cwd=tmp_path)
    one_error_line(result.returncode, result.stderr, str(data_dir / "fhirclaim.db"), "not a SQLite database")


# --- data dir -------------------------------------------------------------------------------------------------


def test_serve_with_a_data_dir_under_a_file(tmp_path, a_file):
    result = _run("serve", "--port", "0", "--data-dir", str(a_file / "data"), cwd=tmp_path)
    one_error_line(result.returncode, result.stderr, f"data dir {a_file / 'data'}", "is a file", "--data-dir",
                   "FHIRCLAIM_DATA_DIR")


def test_worker_with_a_file_as_data_dir(tmp_path, a_file):
    result = _run("worker", "--once", cwd=tmp_path, FHIRCLAIM_DATA_DIR=str(a_file))
    one_error_line(result.returncode, result.stderr, f"data dir {a_file} is a file", "FHIRCLAIM_DATA_DIR")


def test_clients_add_with_a_data_dir_under_a_file(a_file):
    result = _invoke("clients", "add", "--role", "admin", "--json", "--data-dir", str(a_file / "data"))
    one_error_line(result.exit_code, result.stderr, "data dir", "is a file", "--data-dir")
    assert result.stdout == ""


def test_eklaim_emulator_with_a_data_dir_under_a_file(a_file):
    result = _invoke("eklaim-emulator", "--port", "0", "--data-dir", str(a_file / "data"))
    one_error_line(result.exit_code, result.stderr, "emulator data dir", "is a file", "--data-dir")


def test_ensure_directory_reports_permission_denied(tmp_path, monkeypatch):
    """Root (the tests' user) may write anywhere, so the refusal is simulated."""
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StartupError, match="not writable \\(permission denied\\)") as caught:
        ensure_directory(tmp_path / "d", what="data dir", fix="point --data-dir elsewhere")
    assert "point --data-dir elsewhere" in str(caught.value)


def test_ensure_directory_makes_and_returns_the_directory(tmp_path):
    assert ensure_directory(tmp_path / "a" / "b", what="data dir", fix="-") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir() and list((tmp_path / "a" / "b").iterdir()) == []


# --- key files ------------------------------------------------------------------------------------------------


def test_a_secret_key_variable_holding_a_path(tmp_path):
    result = _run("worker", "--once", "--data-dir", str(tmp_path / "d"), cwd=tmp_path,
                  FHIRCLAIM_SECRET_KEY="/run/secrets/fhirclaim.key")
    one_error_line(result.returncode, result.stderr, "FHIRCLAIM_SECRET_KEY", "file path", "$(cat FILE)")


def test_a_secret_key_variable_that_is_no_key(tmp_path):
    result = _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), cwd=tmp_path,
                  FHIRCLAIM_SECRET_KEY="not-the-key")
    line = one_error_line(result.returncode, result.stderr, "FHIRCLAIM_SECRET_KEY is not a Fernet key")
    assert "not-the-key" not in line


def test_a_damaged_secret_key_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "secret.key").write_text("garbage\n")
    result = _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    line = one_error_line(result.returncode, result.stderr, str(tmp_path / "d" / "secret.key"),
                          "does not hold a Fernet key", "backup", "FHIRCLAIM_SECRET_KEY")
    assert "garbage" not in line


def test_an_unreadable_secret_key_file(tmp_path):
    (tmp_path / "d" / "secret.key").mkdir(parents=True)  # a directory where the key file should be
    result = _run("worker", "--once", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    one_error_line(result.returncode, result.stderr, "cannot read the secret key file", "secret.key")


def test_a_missing_signing_key_file(tmp_path):
    from fhirclaim.signing import SigningKeyStore

    signing = tmp_path / "d" / "signing" / "hospitals" / "10000004"  # a hospital's keys (signing/hospitals.py)
    key = SigningKeyStore(signing, alg="ES256").load_or_create()
    (signing / f"{key.kid}.key.pem").unlink()
    result = _run("worker", "--once", "--data-dir", str(tmp_path / "d"), cwd=tmp_path,
                  FHIRCLAIM_SIGNING_ALG="ES256")
    # the database is migrated before the keys are read: its log records may come first
    one_error_line(result.returncode, result.stderr, "signing keys", f"{key.kid}.key.pem", "missing", "backup",
                   logs_allowed=True)


def test_eklaim_emulator_with_a_missing_key_file(tmp_path):
    result = _invoke("eklaim-emulator", "--port", "0", "--key-file", str(tmp_path / "missing.key"),
                     "--data-dir", str(tmp_path / "e"))
    one_error_line(result.exit_code, result.stderr, "missing.key", "does not exist", "fhirclaim keys eklaim")


@pytest.mark.parametrize("content", [b"not a key\n", b"\x89PNG\r\n\x1a\n\x00\xff", b""])
def test_eklaim_emulator_with_a_damaged_key_file(tmp_path, content):
    (tmp_path / "bad.key").write_bytes(content)
    result = _invoke("eklaim-emulator", "--port", "0", "--key-file", str(tmp_path / "bad.key"),
                     "--data-dir", str(tmp_path / "e"))
    line = one_error_line(result.exit_code, result.stderr, "bad.key", "does not hold a 64-hex E-Klaim key")
    assert "not a key" not in line


def test_eklaim_emulator_with_a_directory_as_key_file(tmp_path):
    result = _invoke("eklaim-emulator", "--port", "0", "--key-file", str(tmp_path), "--data-dir",
                     str(tmp_path / "e"))
    one_error_line(result.exit_code, result.stderr, "is not a file", "--key-file")


# --- settings -------------------------------------------------------------------------------------------------


def test_an_invalid_setting_names_its_variable(tmp_path):
    result = _invoke("clients", "list", "--data-dir", str(tmp_path), FHIRCLAIM_PORT="eighty")
    line = one_error_line(result.exit_code, result.stderr, "FHIRCLAIM_PORT")
    assert "eighty" not in line


# --- clients: which database ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["clients", "list"], ["clients", "disable", "some-client"]])
def test_clients_commands_refuse_a_missing_database(tmp_path, command):
    data_dir = tmp_path / "not-the-data-dir"
    result = _invoke(*command, "--data-dir", str(data_dir))
    one_error_line(result.exit_code, result.stderr, f"no fhirclaim database at {data_dir / 'fhirclaim.db'}",
                   str(data_dir), "--data-dir", "FHIRCLAIM_DATA_DIR", "--database-url")
    assert not data_dir.exists(), "no empty database is made"


def test_clients_list_from_the_environment_data_dir_refuses_too(tmp_path):
    result = _run("clients", "list", cwd=tmp_path)  # the default data dir ./fhirclaim-data holds nothing
    one_error_line(result.returncode, result.stderr, str(tmp_path / "fhirclaim-data"))
    assert not (tmp_path / "fhirclaim-data").exists()


def test_clients_add_creates_the_database_and_says_where(tmp_path):
    data_dir = tmp_path / "d"
    added = _invoke("clients", "add", "--role", "facility", "--org", "10000004", "--json", "--data-dir", str(data_dir))
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)  # stdout is the JSON alone
    assert set(created) == {"client_id", "client_secret"}
    assert added.stderr.strip() == (f"fhirclaim clients: database {data_dir / 'fhirclaim.db'} (new), "
                                    f"data dir {data_dir}")
    listed = _invoke("clients", "list", "--data-dir", str(data_dir))
    assert listed.exit_code == 0 and created["client_id"] in listed.stdout
    assert listed.stderr.strip() == f"fhirclaim clients: database {data_dir / 'fhirclaim.db'}, data dir {data_dir}"
    disabled = _invoke("clients", "disable", created["client_id"], "--data-dir", str(data_dir))
    assert disabled.exit_code == 0 and disabled.stdout.strip() == f"disabled {created['client_id']}"


# --- group ----------------------------------------------------------------------------------------------------


def test_group_help_shows_the_input_format_and_the_example():
    result = _invoke("group", "--help")
    assert result.exit_code == 0
    for words in ("JSON lines, one set_claim_data object per line", "tgl_masuk", "tgl_pulang", "jenis_rawat",
                  "kelas_rawat", "diagnosa", "procedure", "tarif_rs", "kode_tarif", "tgl_lahir", "gender",
                  "special_cmg", "edition,kode_tarif,cbg_code,kelas,tariff", "group-input.jsonl"):
        assert words in result.stdout, words


def test_the_example_input_groups():
    from importlib import resources

    installed = resources.files("fhirclaim.examples") / "group-input.jsonl"
    assert Path(str(installed)).read_text() == EXAMPLE_INPUT.read_text()
    result = _invoke("group", "--input", str(EXAMPLE_INPUT))
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(answer["nomor_sep"], answer["response"]["cbg"]["code"]) for answer in answers] == [
        ("0301R0011026V000101", "Q-5-42-0"), ("0301R0011026V000201", "M-1-04-I"),
        ("0301R0011026V000301", "J-4-10-II")]  # as examples/README.md's cases 01-03
    assert [special["code"] for special in answers[1]["response"]["special_cmg"]] == ["YY-01-II", "RR-04-III-Hip"]
    assert "bad lines: 0" in result.stderr


def test_group_with_a_missing_input(tmp_path):
    result = _invoke("group", "--input", str(tmp_path / "absent.jsonl"))
    one_error_line(result.exit_code, result.stderr, "--input", "absent.jsonl", "does not exist", "set_claim_data")


@pytest.mark.parametrize(("csv", "words"), [
    ("a,b\n1,2\n", ["missing column(s)", "edition,kode_tarif,cbg_code,kelas,tariff"]),
    ("edition,kode_tarif,cbg_code,kelas,tariff\n2016,AP,A-1-10-I,kelas_9,1\n", ["kelas must be one of"]),
])
def test_group_with_a_bad_tariff_table(tmp_path, csv, words):
    (tmp_path / "tariffs.csv").write_text(csv)
    result = _invoke("group", "--input", str(EXAMPLE_INPUT), "--tariff-table", str(tmp_path / "tariffs.csv"))
    one_error_line(result.exit_code, result.stderr, "tariff table", *words)
    assert result.stdout == ""


def test_group_with_a_missing_tariff_table(tmp_path):
    result = _invoke("group", "--input", str(EXAMPLE_INPUT), "--tariff-table", str(tmp_path / "none.csv"))
    one_error_line(result.exit_code, result.stderr, "cannot read the tariff table", "none.csv")


def test_group_with_an_unwritable_output(tmp_path, a_file):
    result = _invoke("group", "--input", str(EXAMPLE_INPUT), "--output", str(a_file / "out.jsonl"))
    one_error_line(result.exit_code, result.stderr, "cannot write --output", "out.jsonl")


def test_group_reports_malformed_lines_each_on_one_line_and_goes_on(tmp_path):
    """The existing contract for bad lines: reported with their number, counted, skipped, exit 0."""
    claims = tmp_path / "claims.jsonl"
    claims.write_text('{"nomor_sep": "X", "diagnosa": ' + "9" * 100 + "\n{not json\n" + EXAMPLE_INPUT.read_text())
    result = _invoke("group", "--input", str(claims))
    assert result.exit_code == 0 and "Traceback" not in result.stderr
    bad = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in bad] == ["line 1", "line 2"] and "not JSON" in bad[1]
    assert "each line must be one JSON object of set_claim_data fields" in result.stderr
    assert len(result.stdout.splitlines()) == 3


# --- only the known failures ----------------------------------------------------------------------------------


def test_an_unexpected_error_keeps_its_traceback(monkeypatch, tmp_path):
    import fhirclaim.inacbg.batch

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(fhirclaim.inacbg.batch, "run_batch", broken)
    result = _invoke("group", "--input", str(EXAMPLE_INPUT))
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


def test_client_ids_never_read_as_a_command_line_option():
    from fhirclaim.auth.credentials import new_client_id

    ids = [new_client_id() for _ in range(2000)]  # a urlsafe token started with "-" one time in 64
    assert all(i.isalnum() and i.isascii() and len(i) == 24 for i in ids) and len(set(ids)) == len(ids)
