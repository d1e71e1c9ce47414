"""Helpers for the webhook tests: a real HTTP receiver, a steppable clock, and the R4 example claim case."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fhirclaim.webhooks import SECRET_EXTENSION

SECRET = "s3cret-for-tests-0123456789abcdef"  # noqa: S105 (test value)
OTHER_SECRET = "another-secret-for-tests-98765"  # noqa: S105
CRITERIA_X = "ClaimResponse?request.provider=Organization/x"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Checked here independently of fhirclaim.webhooks.signature: HMAC-SHA256 of the raw bytes, hex."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-signature", ""))


class Receiver:
    """An HTTP server on 127.0.0.1 (port 0) that records every POST and answers from a script (default 200)."""

    def __init__(self):
        self.received: list[Received] = []
        self.script: deque[int] = deque()
        self.hold = threading.Event()  # set: the next request waits for `release` before answering
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.in_flight = self.most_in_flight = 0  # POSTs being answered at once, and the most there ever were
        self._counting = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.count_in_flight(+1)
                try:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    receiver.arrived.set()
                    if receiver.hold.is_set():
                        receiver.release.wait(60)
                    status = receiver.script.popleft() if receiver.script else 200
                finally:
                    receiver.count_in_flight(-1)  # before the answer leaves: the sender may go on at once
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone (killed mid-delivery)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count_in_flight(self, step: int) -> None:
        with self._counting:
            self.in_flight += step
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    @property
    def ids(self) -> list[str]:
        """The ids of the resources notified, in the order the POSTs arrived."""
        return [hit.envelope["data"]["fhir"]["id"] for hit in self.received]

    def fail_next(self, times: int, status: int = 503) -> None:
        self.script.extend([status] * times)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def subscription(endpoint: str, criteria: str = CRITERIA_X, secret: str | None = SECRET, **changes) -> dict:
    """The R4 example Subscription, made a rest-hook to `endpoint` with our secret extension."""
    resource = load_fixture("fhir/r4-examples/Subscription-example.json")
    for key in ("id", "text", "end"):
        resource.pop(key, None)
    resource["criteria"] = criteria
    resource["channel"] = {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json"}
    if secret is not None:
        resource["extension"] = [{"url": SECRET_EXTENSION, "valueString": secret}]
    resource.update(changes)
    return resource


# --- the claim case (R4 examples) -------------------------------------------------------------------------

SHARED = [
    {"resourceType": "Organization", "id": "x", "name": "RS X"},
    {"resourceType": "Organization", "id": "y", "name": "RS Y"},
    {"resourceType": "Organization", "id": "2", "name": "BPJS Kesehatan"},
    {"resourceType": "Patient", "id": "1"},
    {"resourceType": "Practitioner", "id": "example"},
    {"resourceType": "Coverage", "id": "9876B1", "status": "active", "beneficiary": {"reference": "Patient/1"},
     "payor": [{"reference": "Organization/2"}]},
]


def seed_shared(service) -> None:
    """Untenanted resources every tenant may reference (the organisations, a patient, a coverage)."""
    for resource in SHARED:
        service.update(resource["resourceType"], resource["id"], copy.deepcopy(resource))


def claim(claim_id: str, provider: str) -> dict:
    resource = load_fixture("fhir/r4-examples/Claim-100150.json")
    resource["id"] = claim_id
    resource["provider"] = {"reference": f"Organization/{provider}"}
    return resource


def claim_response(response_id: str, claim_id: str, requestor: str = "x") -> dict:
    resource = load_fixture("fhir/r4-examples/ClaimResponse-R3500.json")
    resource["id"] = response_id
    resource["request"] = {"reference": f"Claim/{claim_id}"}
    resource["requestor"] = {"reference": f"Organization/{requestor}"}
    return resource


def outcome_text(response) -> str:
    """All issue texts of an OperationOutcome answer."""
    body = response.get_json() or {}
    return " | ".join((i.get("details") or {}).get("text", "") for i in body.get("issue", []))
