"""`fhirclaim users` and the sandbox's web app user: people with a role in one hospital, passwords only hashed."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner
from webkit import PASSWORD, add_user

from fhirclaim.cli import main
from fhirclaim.sandbox import sandbox_users
from fhirclaim.store.models import UserRow
from fhirclaim.webapp.accounts import AccountError, SignInRefused, UserAccounts


@pytest.fixture(autouse=True)
def _embedded_sqlite(monkeypatch):
    """The commands run on their data dir's database: the embedded SQLite in the data dir,
    even in the suite's PostgreSQL run (FHIRCLAIM_DATABASE_URL)."""
    monkeypatch.delenv("FHIRCLAIM_DATABASE_URL", raising=False)

def _cli(tmp_path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["users", *args, "--data-dir", str(tmp_path / "d")], input=stdin)


def test_users_add_list_disable(tmp_path):
    added = _cli(tmp_path, "add", "--org", "10000004", "--role", "coder", "--username", "ani", "--password-stdin",
                 stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "added ani (coder, org 10000004)" in added.output
    listed = _cli(tmp_path, "list")
    assert "ani" in listed.output and "coder" in listed.output and "active" in listed.output
    assert PASSWORD not in listed.output
    assert _cli(tmp_path, "disable", "ani").exit_code == 0
    assert "disabled" in _cli(tmp_path, "list").output.split("ani", 1)[1]
    assert _cli(tmp_path, "disable", "nobody").exit_code == 1


def test_users_add_refuses_bad_input_with_one_error_line(tmp_path):
    short = _cli(tmp_path, "add", "--org", "10000004", "--role", "coder", "--username", "ani", "--password-stdin",
                 stdin="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    role = _cli(tmp_path, "add", "--org", "10000004", "--role", "admin", "--username", "ani", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert role.exit_code == 2 and "admin" in role.output
    name = _cli(tmp_path, "add", "--org", "10000004", "--role", "coder", "--username", "A B", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert name.exit_code == 2 and "username" in name.output


def test_passwords_are_stored_as_a_slow_hash_and_usernames_are_unique(runtime):
    add_user(runtime)
    with runtime.store.unit_of_work(write=False) as uow:
        stored = uow.session.get(UserRow, "ani").password_hash
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    try:
        add_user(runtime)
    except AccountError as error:
        assert "exists already" in str(error)
    else:
        raise AssertionError("a second user of the same name was added")


def test_a_disabled_user_cannot_sign_in(runtime):
    accounts = UserAccounts(runtime.store, runtime.clients.throttle)
    add_user(runtime)
    assert accounts.sign_in("ani", PASSWORD, "10.0.0.1").user.org == "10000004"
    accounts.disable("ani")
    try:
        accounts.sign_in("ani", PASSWORD, "10.0.0.1")
    except SignInRefused as refused:
        assert refused.retry_after is None
    else:
        raise AssertionError("a disabled user signed in")


def test_sandbox_users_json_is_private_and_read_back(runtime):
    accounts = UserAccounts(runtime.store, runtime.clients.throttle)
    first = sandbox_users(accounts, runtime.data_dir)
    path = runtime.data_dir / "sandbox-users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == first
    assert set(first["hospital"]) == {"username", "password", "org"} and first["hospital"]["org"] == "10000004"
    assert sandbox_users(accounts, runtime.data_dir) == first  # the same user on the next start
    assert accounts.sign_in(first["hospital"]["username"], first["hospital"]["password"], "127.0.0.1")


def test_users_rebuild_worklist_needs_an_existing_database(tmp_path):
    assert _cli(tmp_path, "rebuild-worklist").exit_code == 2  # no database there: refused, not made empty
    _cli(tmp_path, "add", "--org", "10000004", "--role", "coder", "--username", "ani", "--password-stdin",
         stdin=PASSWORD + "\n")
    rebuilt = _cli(tmp_path, "rebuild-worklist")
    assert rebuilt.exit_code == 0 and "rebuilt 0 worklist lines" in rebuilt.output


def test_the_session_key_is_private_and_kept_across_starts(runtime):
    from fhirclaim.webapp.views import _session_key

    first = _session_key(runtime.data_dir)
    path = runtime.data_dir / "webapp-session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert _session_key(runtime.data_dir) == first
    assert [p.name for p in runtime.data_dir.glob(".webapp-session.key.*")] == []
