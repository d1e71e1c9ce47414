"""A small world for authorization tests: hospital A (10000004) with a claim published to BPJS-K and a patient
it did not disclose, hospital B with a patient of its own, and a client per role."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from testkit import HOSPITAL, OTHER_HOSPITAL, REPO_ROOT, authorized

EXAMPLE = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"


@pytest.fixture
def world(app, runtime):
    from fhirclaim.claims.pipeline_worker import PipelineWorker

    clients = {
        "facility-A": authorized(app, "facility", HOSPITAL),
        "eklaim-A": authorized(app, "eklaim", HOSPITAL),
        "facility-B": authorized(app, "facility", OTHER_HOSPITAL),
        "bpjs": authorized(app, "bpjs"),
        "admin": authorized(app, "admin"),
    }
    a, b = clients["facility-A"], clients["facility-B"]
    answer = a.post("", raw=EXAMPLE.read_bytes())
    assert answer.status_code == 200, answer.get_json()
    assert PipelineWorker(runtime.pipeline).run_until_idle() == 1
    a.put_resource({"resourceType": "Patient", "id": "undisclosed-a", "gender": "female"})
    b.put_resource({"resourceType": "Patient", "id": "patient-b", "gender": "male"})
    bundle = json.loads(EXAMPLE.read_text())
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    return {"clients": clients, "claim": claim, "sep": claim["identifier"][0]["value"],
            "anonymous": type(a)(app.test_client())}


class Clock:
    """The token endpoint's clock (naive UTC), moved by hand."""

    def __init__(self):
        self.now = datetime(2026, 12, 1, 8, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(runtime) -> Clock:
    """Installed on the token endpoint's throttle and on the security log."""
    clock = Clock()
    runtime.clients.throttle.clock = clock
    runtime.security_log.clock = clock
    return clock
