"""Audit that belongs to someone (issue 13, part 4): every AuditEvent has a tenant or is admin's alone, and
requests with no valid credentials are counted in the bounded security log instead of stored one by one."""

from __future__ import annotations

from sqlalchemy import func, select

from fhirclaim.auth import security_log
from fhirclaim.auth.audit import ADMIN_ONLY_TENANT
from fhirclaim.store.access import SecurityEventRow
from fhirclaim.store.audit_log import AuditLogRow

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
