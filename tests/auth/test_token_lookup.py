"""The bearer-token lookup of every request (one statement, no ORM session, issue 17) still sees a revocation at
once, also one made by another process (`fhirclaim clients disable`, a second server process on the database)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, select, update

from fhirclaim.auth.clients import ClientRegistry
from fhirclaim.store.access import ClientRow, TokenRow
from fhirclaim.store.db import Database
from fhirclaim.store.models import ResourceRow
from fhirclaim.store.unit_of_work import Store

from testkit import HOSPITAL, bearer


@pytest.fixture
def other_process(settings, runtime):
    """The same database through its own engine and registry, as another process would reach it."""
    database = Database(settings.resolved_database_url())
    yield ClientRegistry(Store(database))
    database.dispose()


@pytest.fixture
def token(runtime):
    client_id, _ = runtime.clients.add_client("facility", HOSPITAL, "SIMRS")
    return runtime.clients.issue(runtime.clients.principal_of(client_id)).access_token


def _get(app, token):
    return app.test_client().get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})


def _why(answer) -> str:
    return answer.get_json()["issue"][0]["details"]["text"]


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(app, token, other_process):
    assert _get(app, token).status_code == 200
    assert _get(app, token).status_code == 200
    assert other_process.revoke(token)
    refused = _get(app, token)
    assert refused.status_code == 401 and "revoked" in _why(refused)


def test_a_client_disabled_by_another_process_is_refused_on_the_next_request(app, runtime, token, other_process):
    principal, _ = runtime.clients.resolve(token)
    assert _get(app, token).status_code == 200
    assert other_process.disable(principal.client_id)  # also revokes its tokens
    assert _get(app, token).status_code == 401
    with other_process.store.unit_of_work() as uow:  # the client flag alone, tokens left as they were
        uow.session.execute(update(TokenRow).values(revoked=False))
    refused = _get(app, token)
    assert refused.status_code == 401 and "disabled" in _why(refused)


def test_a_token_whose_client_is_gone_is_refused(app, runtime, token):
    principal, _ = runtime.clients.resolve(token)
    with runtime.store.unit_of_work() as uow:
        uow.session.execute(delete(ClientRow).where(ClientRow.client_id == principal.client_id))
    assert runtime.clients.resolve(token) == (None, "The client of this access token is disabled")


def test_the_lookup_is_one_statement_outside_any_session(runtime, token):
    statements = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement.split()[0])  # noqa: E731
    event.listen(runtime.database.engine, "before_cursor_execute", listener)
    try:
        principal, why = runtime.clients.resolve(token)
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", listener)
    assert why is None and principal.org == HOSPITAL and principal.role == "facility"
    assert [s for s in statements if s.upper() == "SELECT"] == ["SELECT"]


def test_unknown_and_malformed_tokens_are_refused(runtime):
    assert runtime.clients.resolve("no-such-token") == (None, "The access token is not known")
    assert runtime.clients.resolve("") == (None, "The access token is not known")
    assert runtime.clients.resolve("x" * 5000) == (None, "The access token is not known")


def test_a_read_checks_its_token_in_the_transaction_it_reads_in(app, runtime, token):
    """GET by id: one transaction, not one for each, and one statement: the token's SELECT brings the hospital's
    resource with it (`TokenRepository.lookup_reading`, issue 17)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    client = app.test_client()
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=headers).status_code \
        in (200, 201)
    seen = []
    begin = lambda _connection: seen.append("BEGIN")  # noqa: E731
    statement = lambda _c, _cur, text, *_: seen.append(text.split()[0].upper())  # noqa: E731
    event.listen(runtime.database.engine, "begin", begin)
    event.listen(runtime.database.engine, "before_cursor_execute", statement)
    try:
        assert client.get("/fhir/Patient/p1", headers=headers).status_code == 200
    finally:
        event.remove(runtime.database.engine, "begin", begin)
        event.remove(runtime.database.engine, "before_cursor_execute", statement)
    assert seen == ["BEGIN", "SELECT"]


@pytest.mark.parametrize("path, status", [("/fhir/Patient/p1", 200), ("/fhir/Patient/nobody", 404),
                                          ("/fhir/Patient", 200), ("/fhir/Patient/p1/_history", 200),
                                          ("/fhir/AuditEvent/x", 404)])
def test_no_read_leaves_its_transaction_open(app, runtime, token, path, status):
    """The read transaction authentication opens ends with the request: answered, refused or failed."""
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=headers)
    pool = runtime.database.engine.pool
    assert client.get(path, headers=headers).status_code == status
    assert pool.checkedout() == 0
    assert client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert pool.checkedout() == 0
    runtime.clients.revoke(token)
    assert client.get(path, headers=headers).status_code == 401
    assert pool.checkedout() == 0


def test_a_read_refused_after_its_token_was_checked_leaves_no_transaction_open(app, runtime):
    """An admin naming no valid hospital is refused (400) once its token was checked in the held transaction."""
    headers = {"Authorization": f"Bearer {bearer(runtime, 'admin')}", "X-Fhirclaim-Tenant": "not a tenant!"}
    assert app.test_client().get("/fhir/Patient/p1", headers=headers).status_code == 400
    assert runtime.database.engine.pool.checkedout() == 0


def _statements(runtime, seen):
    begin = lambda _connection: seen.append("BEGIN")  # noqa: E731
    statement = lambda _c, _cur, text, *_: seen.append(text.split()[0].upper())  # noqa: E731
    event.listen(runtime.database.engine, "begin", begin)
    event.listen(runtime.database.engine, "before_cursor_execute", statement)
    return lambda: (event.remove(runtime.database.engine, "begin", begin),
                    event.remove(runtime.database.engine, "before_cursor_execute", statement))


def test_a_create_checks_its_token_on_the_connection_of_its_own_write(app, runtime, token):
    """One pool checkout and one transaction per create (issue 17). PostgreSQL: the transaction begun by the
    token's SELECT. SQLite: the SELECT runs on the write's connection before its BEGIN (IMMEDIATE: the writer's
    lock), which comes with the write's first statement."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    seen: list[str] = []
    checkouts: list[object] = []
    checkout = lambda _dbapi, _record, _proxy: checkouts.append(_dbapi)  # noqa: E731
    event.listen(runtime.database.engine.pool, "checkout", checkout)
    stop = _statements(runtime, seen)
    try:
        answer = app.test_client().post("/fhir/Patient", json={"resourceType": "Patient"}, headers=headers)
    finally:
        stop()
        event.remove(runtime.database.engine.pool, "checkout", checkout)
    assert answer.status_code == 201
    assert len(checkouts) == 1 and seen.count("BEGIN") == 1 and "INSERT" in seen
    if runtime.database.is_sqlite:
        assert seen[:2] == ["SELECT", "BEGIN"]
    else:
        assert seen[:2] == ["BEGIN", "SELECT"]
    assert runtime.database.engine.pool.checkedout() == 0


def test_a_create_refused_by_validation_never_begins_its_write(app, runtime, token):
    """SQLite: the body is validated before the write's first statement, so a refused one never takes the
    writer lock: the token's SELECT is all it ran (PostgreSQL: in the transaction that SELECT began)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    seen: list[str] = []
    stop = _statements(runtime, seen)
    try:
        answer = app.test_client().post("/fhir/Patient", json={"resourceType": "Patient", "gender": "none"},
                                        headers=headers)
    finally:
        stop()
    assert answer.status_code in (400, 422)
    assert seen == (["SELECT"] if runtime.database.is_sqlite else ["BEGIN", "SELECT"])
    assert runtime.database.engine.pool.checkedout() == 0


WRITES = [("post", "/fhir/Patient", {"resourceType": "Patient"}),
          ("put", "/fhir/Patient/p1", {"resourceType": "Patient", "id": "p1", "gender": "male"}),
          ("patch", "/fhir/Patient/p1", [{"op": "add", "path": "/gender", "value": "male"}]),
          ("delete", "/fhir/Patient/p1", None),
          ("post", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [
              {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}]})]


def _write(client, method, path, body, token):
    kind = "application/json-patch+json" if method == "patch" else "application/fhir+json"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": kind}
    return getattr(client, method)(path, json=body, headers=headers)


def _patients(runtime) -> list[tuple[str, int, bool]]:
    with runtime.store.unit_of_work(write=False) as uow:
        return sorted(uow.session.execute(select(ResourceRow.logical_id, ResourceRow.version_id, ResourceRow.deleted)
                                          .where(ResourceRow.resource_type == "Patient")).all())


@pytest.mark.parametrize("method, path, body", WRITES)
def test_a_write_with_a_refused_token_answers_401_writes_nothing_and_ends_its_transaction(app, runtime, token,
                                                                                           method, path, body):
    """The token is checked inside the write's unit of work (SQLite: on its connection, before its transaction
    begins): a refusal rolls it back, before the security log records the refusal in a transaction of its own,
    and leaves the connection and the writer lock free."""
    client = app.test_client()
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 201
    stored = _patients(runtime)
    for refused in ("not-a-token", token):
        if refused == token:
            runtime.clients.revoke(token)  # honoured by the very next write
        answer = _write(client, method, path, body, refused)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert _patients(runtime) == stored
        assert runtime.database.engine.pool.checkedout() == 0
    # the writer lock was let go: another client's write goes through
    assert _write(client, method, path, body, _fresh_token(runtime)).status_code in (200, 201)
    assert _patients(runtime) != stored


def _fresh_token(runtime) -> str:
    client_id, _ = runtime.clients.add_client("facility", HOSPITAL, "SIMRS 2")
    return runtime.clients.issue(runtime.clients.principal_of(client_id)).access_token


@pytest.mark.parametrize("method, path, body", WRITES)
def test_a_write_failing_before_its_handler_writes_ends_the_transaction_its_token_began(app, runtime, token,
                                                                                        method, path, body):
    """A write refused after its token was checked (a body that is not JSON, an unknown tenant) rolls back the
    unit of work the check began: nothing written, no connection kept, the next write not kept waiting."""
    client = app.test_client()
    client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"},
               headers={"Authorization": f"Bearer {token}"})
    stored = _patients(runtime)
    kind = "application/json-patch+json" if method == "patch" else "application/fhir+json"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": kind}
    if method != "delete":
        assert getattr(client, method)(path, data=b"{not json", headers=headers).status_code == 400
        assert runtime.database.engine.pool.checkedout() == 0
    admin = {"Authorization": f"Bearer {bearer(runtime, 'admin')}", "X-Fhirclaim-Tenant": "not a tenant!"}
    assert getattr(client, method)(path, json=body, headers={**headers, **admin}).status_code == 400
    assert _patients(runtime) == stored and runtime.database.engine.pool.checkedout() == 0
    assert _write(client, method, path, body, token).status_code in (200, 201)
