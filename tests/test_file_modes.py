"""Issue 13, files at rest: the data dir is 0700 and the databases, keys and secrets in it 0600, created that way
by `fhirclaim serve` and `fhirclaim worker` (whatever the umask they start with) and by the library itself; a start
on a data dir others may read goes on, with a warning line per loose path."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from fhirclaim.secrets import KEY_FILE_NAME, SecretBox
from fhirclaim.startup import create_private_file_holding

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")



@pytest.fixture(autouse=True)
def _embedded_sqlite(monkeypatch):
    """Files at rest are the data dir's files: the embedded SQLite in the data dir,
    even in the suite's PostgreSQL run (FHIRCLAIM_DATABASE_URL)."""
    monkeypatch.delenv("FHIRCLAIM_DATABASE_URL", raising=False)

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose(data_dir: Path) -> dict[str, str]:
    """Every path under the data dir (itself included) that groups or others may use, with its mode."""
    paths = [data_dir, *data_dir.rglob("*")]
    return {str(p.relative_to(data_dir)): oct(_mode(p)) for p in paths if _mode(p) & 0o077}


def _umask_022() -> None:
    os.umask(0o022)  # a usual login umask: left alone, files would be 0644 and directories 0755


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "FHIRCLAIM_DATABASE_URL"}  # SQLite in the data dir


def test_serve_creates_a_private_data_dir(tmp_path):
    data_dir = tmp_path / "d"
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirclaim.cli", "serve", "--sandbox", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), preexec_fn=_umask_022)
    try:
        base = None
        for line in process.stdout:
            match = re.search(r"serving FHIR R4 at (http://\S+/fhir)", line)
            if match:
                base = match.group(1)
                break
        assert base, process.stderr.read()
        assert requests.get(f"{base}/metadata", timeout=30).status_code == 200
        assert requests.get(f"{base}/.well-known/jwks.json", timeout=60).status_code == 200  # signing keys exist
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert _mode(data_dir) == 0o700
    for name in ("fhirclaim.db", "secret.key", "sandbox-clients.json", "sandbox-users.json"):
        assert _mode(data_dir / name) == 0o600, name
    assert [p for p in (data_dir / "signing").rglob("*") if p.is_file()], "the signing keys were made"
    assert _loose(data_dir) == {}


def test_worker_creates_a_private_data_dir(tmp_path):
    data_dir = tmp_path / "w"
    result = subprocess.run([sys.executable, "-m", "fhirclaim.cli", "worker", "--once", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, env=_env(), preexec_fn=_umask_022, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "fhirclaim.db") == 0o600
    assert _loose(data_dir) == {}


def test_the_library_creates_the_database_private_under_any_umask(tmp_path):
    from fhirclaim.config import Settings
    from fhirclaim.runtime import Runtime

    data_dir = tmp_path / "lib"
    previous = os.umask(0o022)
    try:
        runtime = Runtime(Settings(data_dir=data_dir, run_worker=False))
        runtime.close()
    finally:
        os.umask(previous)
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "fhirclaim.db") == 0o600
    assert _mode(data_dir / "secret.key") == 0o600
    assert (data_dir / "signing" / "ca").is_dir(), "the sandbox CA was made"
    assert _mode(data_dir / "signing") == 0o700  # made on the way to signing/ca, not with the umask's 0755
    from fhirclaim.startup import loose_modes
    assert loose_modes(data_dir) == []  # so the next start has nothing to warn about


def _with_keys(data_dir: Path, signing_keys: Path) -> Path:
    """A data dir holding the session's signing keys (making a 3072-bit key per test is slow)."""
    shutil.copytree(signing_keys, data_dir / "signing")
    for path in (data_dir, data_dir / "signing"):
        path.chmod(0o700)
    return data_dir


def test_a_loose_data_dir_is_warned_about_and_still_starts(tmp_path, caplog, _signing_keys):
    from fhirclaim.config import Settings
    from fhirclaim.runtime import Runtime

    data_dir = _with_keys(tmp_path / "loose", _signing_keys)
    Runtime(Settings(data_dir=data_dir, run_worker=False)).close()
    data_dir.chmod(0o755)
    (data_dir / "fhirclaim.db").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="fhirclaim.startup"):
        runtime = Runtime(Settings(data_dir=data_dir, run_worker=False))
    runtime.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "fhirclaim.startup"]
    assert f"{data_dir} is mode 0755: other users of this machine may read it; chmod 700 {data_dir}" in warnings
    assert any("fhirclaim.db is mode 0644" in w and "chmod 600" in w for w in warnings)
    # only the loose ones (SQLite gives its -wal and -shm files the database's mode): secret.key stayed 0600
    assert all(str(data_dir) + " is" in w or "fhirclaim.db" in w for w in warnings), warnings


def test_a_private_data_dir_gives_no_warning(tmp_path, caplog, _signing_keys):
    from fhirclaim.config import Settings
    from fhirclaim.runtime import Runtime

    data_dir = _with_keys(tmp_path / "private", _signing_keys)
    with caplog.at_level(logging.WARNING, logger="fhirclaim.startup"):
        Runtime(Settings(data_dir=data_dir, run_worker=False)).close()
    assert [r for r in caplog.records if r.name == "fhirclaim.startup"] == []


def test_a_readable_sandbox_credentials_file_is_warned_about(tmp_path):
    from fhirclaim.startup import loose_modes

    data_dir = tmp_path / "sandbox"
    data_dir.mkdir(mode=0o700)
    for name in ("sandbox-clients.json", "sandbox-users.json"):
        (data_dir / name).write_text("{}")
        (data_dir / name).chmod(0o644)
    assert {path.name: mode for path, mode in loose_modes(data_dir)} == {
        "sandbox-clients.json": 0o644, "sandbox-users.json": 0o644}


# --- keys made by processes starting together (issue 17: a production server's workers on a new data dir) ----------


def test_a_new_key_file_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    """While the key is written, the key file's name does not exist yet: a process starting at the same moment finds
    no key (and makes its own, of which one wins) or the whole key, never the empty file that the old in-place
    write showed (a production server's worker failed its start on it: "does not hold a Fernet key")."""
    data_dir = tmp_path / "d"
    path = data_dir / KEY_FILE_NAME
    seen_while_writing: list[bool] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        seen_while_writing.append(path.exists())
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    box = SecretBox.for_data_dir(data_dir)
    assert seen_while_writing == [False]
    assert _mode(path) == 0o600
    assert box.decrypt(SecretBox.for_data_dir(data_dir).encrypt("x")) == "x"
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE_NAME]  # no temporary file left


def test_a_key_another_process_made_first_is_kept(tmp_path):
    path = tmp_path / "eklaim.key"
    assert create_private_file_holding(path, b"first") is True
    assert create_private_file_holding(path, b"second") is False
    assert path.read_bytes() == b"first" and _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["eklaim.key"]


def test_without_hard_links_the_file_is_made_in_place(tmp_path, monkeypatch):
    """A filesystem that refuses hard links (injected: EPERM, as FAT or some network mounts answer): the file is made
    in place, and still never over one another process made first."""
    def no_links(*_args):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "eklaim.key"
    assert create_private_file_holding(path, b"first") is True
    assert create_private_file_holding(path, b"second") is False
    assert path.read_bytes() == b"first" and _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["eklaim.key"]


def test_processes_starting_together_share_one_key(tmp_path):
    """Eight processes make the installation's key and the sandbox E-Klaims' key on a new data dir at once (a barrier
    releases them together): every one starts, and all hold the keys the files hold."""
    script = ("import json, sys, multiprocessing\n"
              "from pathlib import Path\n"
              "from fhirclaim.secrets import SecretBox\n"
              "from fhirclaim.sandbox import key_in\n"
              "def start(barrier, data_dir, answers):\n"
              "    barrier.wait()\n"
              "    try:\n"
              "        token = SecretBox.for_data_dir(Path(data_dir)).encrypt('x')\n"
              "        answers.put([token, key_in(Path(data_dir))])\n"
              "    except Exception as error:\n"
              "        answers.put(['failed', repr(error)])\n"
              "if __name__ == '__main__':\n"
              "    barrier, answers = multiprocessing.Barrier(8), multiprocessing.Queue()\n"
              "    Path(sys.argv[1]).mkdir()\n"
              "    workers = [multiprocessing.Process(target=start, args=(barrier, sys.argv[1], answers))\n"
              "               for _ in range(8)]\n"
              "    [w.start() for w in workers]\n"
              "    got = [answers.get(timeout=60) for _ in workers]\n"
              "    [w.join() for w in workers]\n"
              "    print(json.dumps(got))\n")
    data_dir = tmp_path / "d"
    result = subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [token for token, _ in answers if token == "failed"] == [], answers
    box, eklaim_key = SecretBox.for_data_dir(data_dir), (data_dir / "eklaim.key").read_text().strip()
    assert [box.decrypt(token) for token, _ in answers] == ["x"] * 8
    assert {key for _, key in answers} == {eklaim_key}
