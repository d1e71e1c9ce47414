"""Test helpers shared across test packages, importable as `testkit` (conftest modules are not: each test
package may have its own conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"  # the test data, with where each file came from in SOURCES.md
HOSPITAL = "10000004"  # the tenant the default test client acts for (the examples' hospital)
OTHER_HOSPITAL = "10000099"


def bearer(runtime, role: str = "facility", org: str | None = HOSPITAL, client_id: str | None = None) -> str:
    """A live access token for a client of `role` (created on the spot, without the cost of hashing a secret:
    the token is issued directly, as the token endpoint does after checking the secret)."""
    from fhirclaim.auth.principal import HOSPITAL_ROLES, Principal
    from fhirclaim.store.access import ClientRow

    org = org if role in HOSPITAL_ROLES else None
    client_id = client_id or f"test-{role}-{org or 'all'}"
    with runtime.store.unit_of_work() as uow:
        if uow.session.get(ClientRow, client_id) is None:
            from datetime import datetime

            uow.session.add(ClientRow(client_id=client_id, secret_hash="not-a-hash", role=role, org=org,
                                      created_at=datetime.utcnow(), disabled=False))
    return runtime.clients.issue(Principal(client_id, role, org)).access_token


def role_headers(runtime) -> dict[str, str | None]:
    """An Authorization header per kind of caller: each role's live token, another hospital's, an unknown, a
    revoked, an expired and a disabled client's token, Basic credentials, and none (the lean paths' matrices)."""
    from datetime import datetime

    from sqlalchemy import update

    from fhirclaim.store.access import ClientRow, TokenRow

    revoked = bearer(runtime, "facility", HOSPITAL, client_id="test-revoked")
    assert runtime.clients.revoke(revoked)
    expired = bearer(runtime, "facility", HOSPITAL, client_id="test-expired")
    disabled = bearer(runtime, "facility", HOSPITAL, client_id="test-disabled")
    with runtime.store.unit_of_work() as uow:
        uow.session.execute(update(TokenRow).where(TokenRow.client_id == "test-expired")
                            .values(expires_at=datetime(2020, 1, 1)))
        uow.session.execute(update(ClientRow).where(ClientRow.client_id == "test-disabled").values(disabled=True))
    return {"facility": f"Bearer {bearer(runtime)}", "facility-B": f"Bearer {bearer(runtime, org=OTHER_HOSPITAL)}",
            "eklaim": f"Bearer {bearer(runtime, 'eklaim')}", "bpjs": f"Bearer {bearer(runtime, 'bpjs')}",
            "admin": f"Bearer {bearer(runtime, 'admin')}", "unknown": "Bearer not-a-token",
            "revoked": f"bearer  {revoked} ", "expired": f"Bearer {expired}", "disabled": f"Bearer {disabled}",
            "basic": "Basic dXNlcjpwYXNz", "none": None}


def authorized(app, role: str = "facility", org: str | None = HOSPITAL) -> FhirTestClient:
    """A FHIR test client carrying a bearer token of `role` (for `org`)."""
    token = bearer(app.extensions["fhirclaim"], role, org)
    return FhirTestClient(app.test_client(), headers={"Authorization": f"Bearer {token}"})


def load_fixture(relative: str):
    """Parse a JSON file of tests/fixtures (`relative` to it, e.g. "fhir/r4-examples/Claim-100150.json")."""
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


class FhirTestClient:
    """Flask's test client with FHIR defaults: JSON bodies, /fhir prefix, parsed answers."""

    base = "/fhir"

    def __init__(self, client, headers: dict[str, str] | None = None):
        self.client = client
        self.headers = dict(headers or {})

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                content_type: str = "application/fhir+json", raw: bytes | None = None, base: str | None = None,
                **kwargs):
        all_headers = {**self.headers, **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            all_headers.setdefault("Content-Type", content_type)
        prefix = self.base if base is None else base
        return self.client.open(prefix + path, method=method, data=data, headers=all_headers, **kwargs)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, ops: Any, **kw):
        return self.request("PATCH", path, ops, content_type="application/json-patch+json", **kw)

    def delete(self, path: str, **kw):
        return self.request("DELETE", path, **kw)

    def writes(self) -> int:
        """Versions written by clients and the pipeline: not the server's seed data, not the audit trail."""
        from sqlalchemy import func, select

        from fhirclaim.store.models import ResourceVersionRow

        runtime = self.client.application.extensions["fhirclaim"]
        with runtime.store.unit_of_work(write=False) as uow:
            return uow.session.execute(
                select(func.count()).select_from(ResourceVersionRow)
                .where(ResourceVersionRow.resource_type != "AuditEvent",
                       ResourceVersionRow.author.is_distinct_from("system:seed"))).scalar_one()

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        """POST and return the stored resource; fails the test on anything but 201."""
        response = self.post(f"/{resource['resourceType']}", resource)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def put_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        response = self.put(f"/{resource['resourceType']}/{resource['id']}", resource)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.get_json()


def outcome_text(response) -> str:
    """All issue texts of an OperationOutcome answer, for assertions."""
    body = response.get_json() or {}
    return " | ".join((i.get("details") or {}).get("text", "") for i in body.get("issue", []))


def drained(topics) -> list:
    """Everything a `queue.Queue` holds now, in order, taken off it (what a notice listener announced)."""
    found = []
    while not topics.empty():
        found.append(topics.get_nowait())
    return found


def queued_delivery(n: int):
    """A pending webhook delivery row, #n: its insert is what queues a webhook notification (`commit_notices`)."""
    from datetime import datetime

    from fhirclaim.store.outbox import DeliveryRow

    now = datetime(2026, 12, 5, 12, 0)
    return DeliveryRow(transaction_id=f"t-{n}", subscription_id="s-1", tenant=HOSPITAL, resource_type="Claim",
                       resource_id=f"c-{n}", version_id=1, method="PUT", body=b"{}", status="pending", attempts=0,
                       replays=0, created_at=now, next_attempt_at=now)
