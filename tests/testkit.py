"""Test helpers shared across test packages, importable as `testkit` (conftest modules are not: each test
package may have its own conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
SEEDED_VERSIONS = 1  # the server seeds the shared BPJS Kesehatan Organization on start


def load_reference(relative: str):
    """Parse a JSON file of ../shared/reference."""
    return json.loads((REFERENCE / relative).read_text(encoding="utf-8"))


class FhirTestClient:
    """Flask's test client with FHIR defaults: JSON bodies, /fhir prefix, parsed answers."""

    base = "/fhir"

    def __init__(self, client, headers: dict[str, str] | None = None):
        self.client = client
        self.headers = dict(headers or {})

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                content_type: str = "application/fhir+json", raw: bytes | None = None, **kwargs):
        all_headers = {**self.headers, **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            all_headers.setdefault("Content-Type", content_type)
        return self.client.open(self.base + path, method=method, data=data, headers=all_headers, **kwargs)

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
        """Versions written since the server started, the server's own seed data not counted."""
        history = self.get("/_history?_count=0").get_json()
        return history["total"] - SEEDED_VERSIONS

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
