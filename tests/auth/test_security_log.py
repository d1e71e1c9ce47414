"""Audit that belongs to someone (issue 13, part 4): every AuditEvent has a tenant or is admin's alone, and
requests with no valid credentials are counted in the bounded security log instead of stored one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from fhirclaim.auth import security_log
from fhirclaim.auth.audit import ADMIN_ONLY_TENANT
from fhirclaim.store.access import SecurityEventRow
from fhirclaim.store.audit_log import AuditLogRow
from fhirclaim.store.db import Database

from testkit import HOSPITAL, OTHER_HOSPITAL, authorized

BPJS_ORG = "100025555"


def _audit_events(runtime) -> list[tuple[str | None, str]]:
    with runtime.store.unit_of_work(write=False) as uow:
        return list(uow.session.execute(select(AuditLogRow.tenant, AuditLogRow.logical_id)).all())


def test_anonymous_requests_are_counted_not_stored(app, runtime, clock):
    before = len(_audit_events(runtime))
    client = app.test_client()
    for n in range(200):
        headers = {"Authorization": "Bearer forged"} if n % 2 else {}
        assert client.get("/fhir/Claim", headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.9"}) \
            .status_code == 401
    assert len(_audit_events(runtime)) == before
    [row] = runtime.security_log.recent()
    assert (row["source"], row["kind"], row["count"]) == ("198.51.100.9", "unauthenticated", 200)
    admin = authorized(app, "admin")
    listed = admin.get("/security-log", base="/admin", content_type="application/json").get_json()
    assert listed[0]["count"] == 200
    assert authorized(app).get("/security-log", base="/admin").status_code == 403


def test_failed_token_requests_are_counted_per_minute(app, runtime, clock):
    def ask():
        return app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                      data={"client_id": "ghost", "client_secret": "x"}).status_code

    assert [ask() for _ in range(4)] == [401, 401, 401, 429]
    clock.advance(60)
    assert ask() == 401
    kinds = [(r["kind"], r["count"]) for r in runtime.security_log.recent()]
    assert kinds == [("token-refused", 1), ("token-refused", 3), ("token-slowed-down", 1)]
    assert all(tenant is not None for tenant, _ in _audit_events(runtime))


def test_the_log_is_bounded_by_sources_per_minute_and_retention(runtime, clock):
    log = runtime.security_log
    for n in range(security_log.MAX_SOURCES_PER_MINUTE + 50):
        log.record(source=f"2001:db8::{n:x}", kind="unauthenticated", description="GET /fhir/Claim")
    rows = log.recent(limit=10_000)
    assert len(rows) == security_log.MAX_SOURCES_PER_MINUTE + 1
    assert next(r for r in rows if r["source"] == security_log.OTHER)["count"] == 50
    clock.advance(security_log.RETENTION.total_seconds() + 60)
    log.record(source="192.0.2.1", kind="unauthenticated", description="later")
    with runtime.store.unit_of_work(write=False) as uow:
        assert uow.session.execute(select(func.count()).select_from(SecurityEventRow)).scalar_one() == 1


def test_audit_of_shared_resources_and_admin_refusals_is_admins_alone(app, runtime):
    admin, a, b = authorized(app, "admin"), authorized(app, "facility", HOSPITAL), \
        authorized(app, "facility", OTHER_HOSPITAL)
    organization = admin.get(f"/Organization/{BPJS_ORG}").get_json()
    organization.pop("meta")
    assert admin.put(f"/Organization/{BPJS_ORG}", {**organization, "alias": ["BPJS-K"]}).status_code == 200
    assert admin.post("/Patient", {"resourceType": "Patient"}).status_code == 403  # admin refused: admin's too
    assert a.put(f"/Organization/{BPJS_ORG}", organization).status_code == 403  # A's refusal: A's
    tenants = {tenant for tenant, _ in _audit_events(runtime)}
    assert None not in tenants  # every AuditEvent belongs to someone
    assert tenants == {ADMIN_ONLY_TENANT, HOSPITAL}
    # the seeding of the shared Organization, admin's update, admin's refusal, A's refusal
    assert admin.get("/AuditEvent?_count=0").get_json()["total"] == 4
    assert a.get("/AuditEvent?_count=0").get_json()["total"] == 1
    assert b.get("/AuditEvent?_count=0").get_json()["total"] == 0


def _table(runtime) -> list[tuple[str, str, int]]:
    with runtime.store.unit_of_work(write=False) as uow:
        return [tuple(row) for row in uow.session.execute(
            select(SecurityEventRow.source, SecurityEventRow.kind, SecurityEventRow.count)
            .order_by(SecurityEventRow.source, SecurityEventRow.kind)).all()]


def test_a_flood_is_written_once_per_interval_not_once_per_request(runtime, clock):
    log, writes = runtime.security_log, []

    @event.listens_for(runtime.database.engine, "before_cursor_execute")
    def _statement(_connection, _cursor, statement, *_):
        if statement.startswith("DELETE FROM security_event"):  # each write's first statement (retention)
            writes.append(statement)

    for _ in range(500):
        log.record(source="198.51.100.9", kind="unauthenticated", description="GET /fhir/Claim")
    assert len(writes) == 1  # the counter's first refusal, at once: the source is in the table
    assert _table(runtime) == [("198.51.100.9", "unauthenticated", 1)]
    log.record(source="198.51.100.9", kind="forbidden", description="GET /admin")  # a new counter: written now
    assert len(writes) == 2
    assert _table(runtime) == [("198.51.100.9", "forbidden", 1), ("198.51.100.9", "unauthenticated", 500)]
    clock.advance(security_log.WRITE_EVERY.total_seconds() - 1)
    log.record(source="198.51.100.9", kind="unauthenticated", description="GET /fhir/Claim")
    assert len(writes) == 2
    clock.advance(1)
    log.record(source="198.51.100.9", kind="unauthenticated", description="GET /fhir/Patient")
    assert len(writes) == 3
    assert _table(runtime) == [("198.51.100.9", "forbidden", 1), ("198.51.100.9", "unauthenticated", 502)]
    assert runtime.security_log.recent()[0]["sample"] == "GET /fhir/Patient"


def test_counts_not_yet_written_are_read_and_written_when_the_server_stops(runtime, clock):
    log = runtime.security_log
    for _ in range(10):
        log.record(source="192.0.2.7", kind="unauthenticated", description="GET /fhir/Claim")
    assert _table(runtime) == [("192.0.2.7", "unauthenticated", 1)]
    assert [r["count"] for r in log.recent()] == [10]  # reading the log writes what it holds first
    log.record(source="192.0.2.7", kind="unauthenticated", description="GET /fhir/Claim")
    runtime.close()
    reopened = Database(runtime.database.url)
    try:
        with reopened.session(write=False) as session:
            assert session.execute(select(SecurityEventRow.count)).scalars().all() == [11]
    finally:
        reopened.dispose()


def test_a_write_that_fails_keeps_its_counts_for_the_next(runtime, clock, monkeypatch):
    log = runtime.security_log
    log.record(source="192.0.2.8", kind="unauthenticated", description="first")
    for _ in range(4):
        log.record(source="192.0.2.8", kind="unauthenticated", description="again")
    clock.advance(security_log.WRITE_EVERY.total_seconds())
    broken = runtime.store.unit_of_work

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runtime.store, "unit_of_work", failing)  # an injected failure
    with pytest.raises(OSError):
        log.record(source="192.0.2.8", kind="unauthenticated", description="during")
    monkeypatch.setattr(runtime.store, "unit_of_work", broken)
    log.record(source="192.0.2.8", kind="unauthenticated", description="after")
    assert [(r["count"], r["sample"]) for r in log.recent()] == [(7, "after")]
