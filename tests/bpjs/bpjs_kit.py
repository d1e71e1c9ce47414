"""Helpers of the BPJS-K side tests: the example cases written as a hospital would (in its tenant), the pipeline run
to publication, BPJS-K's answers as SATUSEHAT shapes them (tests/fixtures/satusehat/examples-derived), decisions."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fhirclaim.bpjs.submitted_claim import package_total
from fhirclaim.claims.pipeline import derived_id
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.interactions import transaction
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.scope import SYSTEM, tenant_scope

from testkit import FIXTURES, REPO_ROOT

HOSPITAL = "10000004"  # the examples' hospital (Organization/10000004), one tenant
OTHER_HOSPITAL = "10000099"  # another hospital, another tenant
BPJS_ORG = "100025555"
BASE = "http://fhirclaim.test/fhir"
KEMKES = "http://terminology.kemkes.go.id"
LANJUT = {"system": KEMKES, "code": "TK000049", "display": "Lanjut"}
BATAL = {"system": "https://fhirclaim.org/fhir/CodeSystem/purification-decision-status", "code": "batal",
         "display": "Batal"}
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


# --- the example cases -----------------------------------------------------------------------------------------

def example(name: str) -> dict[str, Any]:
    """examples/<name>/transaction.json: the transaction a SIMRS sends for one case."""
    return json.loads((REPO_ROOT / "examples" / name / "transaction.json").read_text(encoding="utf-8"))


def resource_of(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def claim_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return resource_of(bundle, "Claim")


def renamed(bundle: dict[str, Any], prefix: str, *, organization: str | None = None) -> dict[str, Any]:
    """The same case with every resource id prefixed (ids are global, tenants are not), references following;
    `organization` replaces the hospital (another hospital's copy). The BPJS Kesehatan Organization is shared."""
    ids: dict[tuple[str, str], str] = {}
    for entry in bundle["entry"]:
        key = (entry["resource"]["resourceType"], entry["resource"]["id"])
        if key == ("Organization", HOSPITAL):
            ids[key] = organization or HOSPITAL
        elif key != ("Organization", BPJS_ORG):
            ids[key] = prefix + key[1]
    text = json.dumps(bundle)
    for (resource_type, old), new in ids.items():
        text = text.replace(f'"{resource_type}/{old}"', f'"{resource_type}/{new}"')
    copied = json.loads(text)
    for entry in copied["entry"]:
        resource = entry["resource"]
        resource["id"] = ids.get((resource["resourceType"], resource["id"]), resource["id"])
        entry["request"]["url"] = f"{resource['resourceType']}/{resource['id']}"
    return copied


def with_sep(bundle: dict[str, Any], sep: str) -> dict[str, Any]:
    old = claim_of(bundle)["identifier"][0]["value"]
    return json.loads(json.dumps(bundle).replace(old, sep))


def with_card(bundle: dict[str, Any], card: str) -> dict[str, Any]:
    old = resource_of(bundle, "Coverage")["subscriberId"]
    return json.loads(json.dumps(bundle).replace(f'"{old}"', f'"{card}"'))


def with_stay(bundle: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    """The case moved to another stay: every dateTime of it (services, documents, results; not the birth date)
    shifted by the days between the old and the new admission, then the stay's period set exactly."""
    old = date.fromisoformat(resource_of(bundle, "Encounter")["period"]["start"][:10])
    days = date.fromisoformat(start[:10]) - old
    text = re.sub(r"\b(20\d\d-\d\d-\d\d)(?=T)", lambda m: (date.fromisoformat(m.group(1)) + days).isoformat(),
                  json.dumps(bundle))
    copied = json.loads(text)
    resource_of(copied, "Encounter")["period"] = {"start": start, "end": end}
    claim_of(copied)["billablePeriod"] = {"start": start, "end": end}
    return copied


def with_principal(bundle: dict[str, Any], code: str, display: str) -> dict[str, Any]:
    copied = copy.deepcopy(bundle)
    claim_of(copied)["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0].update(code=code, display=display)
    return copied


# --- the hospital, the pipeline ----------------------------------------------------------------------------------

def write(runtime, bundle: dict[str, Any], tenant: str = HOSPITAL) -> None:
    """Store a case as the hospital's SIMRS would: one transaction, in the hospital's tenant."""
    with runtime.store.unit_of_work(tenant_scope(tenant)) as uow:
        transaction.process(runtime.fhir_service(uow, author=f"facility:{tenant}"), bundle, BASE)


def publish(runtime, bundle: dict[str, Any], tenant: str = HOSPITAL) -> str:
    """Write a case and run the pipeline until it is idle; the Claim id."""
    write(runtime, bundle, tenant)
    PipelineWorker(runtime.pipeline).run_until_idle()
    return claim_of(bundle)["id"]


def stored(runtime, resource_type: str, resource_id: str) -> StoredResource | None:
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        return uow.resources.find(resource_type, resource_id)


def answers(runtime, claim_id: str, subtype: str) -> list[StoredResource]:
    """BPJS-K's ClaimResponses of a subType answering a Claim (any tenant)."""
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        found = uow.resources.search_all(parse_search("ClaimResponse", [("request", f"Claim/{claim_id}")]))
    return [r for r in found if any(c.get("code") == subtype for c in r.content.get("subType", {}).get("coding", []))]


def author_of(runtime, resource: StoredResource) -> str | None:
    """Who wrote this version (the history keeps it; a search result does not)."""
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        return uow.resources.vread(resource.resource_type, resource.id, resource.version_id).author


def grouping_of(runtime, claim_id: str) -> dict[str, Any]:
    return stored(runtime, "ClaimResponse", derived_id("grouping", claim_id)).content


def bundle_of(runtime, claim_id: str) -> StoredResource | None:
    return stored(runtime, "Bundle", derived_id("bundle", claim_id))


def amount(response: dict[str, Any], code: str) -> int | None:
    """A total (submitted, benefit) of a ClaimResponse."""
    return next((t["amount"]["value"] for t in response.get("total", [])
                 if t["category"]["coding"][0]["code"] == code), None)


def copay(response: dict[str, Any]) -> int:
    """The excess as SIMRS Khanza reads it: the sum of item adjudications of category copay."""
    return sum(a["amount"]["value"] for item in response.get("item", []) for a in item["adjudication"]
               if a["category"]["coding"][0]["code"] == "copay")


# --- BPJS-K's answers and the hospital's decisions ---------------------------------------------------------------

def reference_answer(kind: str, claim: dict[str, Any], *, created: str = "2026-10-20T09:00:00+07:00",
                     batch: str = "B2026100001") -> dict[str, Any]:
    """reconstructed_claimresponse-<kind>.json filled for `claim`: what a BPJS-K client POSTs."""
    path = FIXTURES / "satusehat" / "examples-derived" / f"reconstructed_claimresponse-{kind}.json"
    values = {"{{Org_BPJS}}": BPJS_ORG, "{{No_Batch}}": batch, "{{No_SEP}}": claim["identifier"][0]["value"],
              "{{Patient_id}}": claim["patient"]["reference"].split("/")[1],
              "{{Org_id}}": claim["provider"]["reference"].split("/")[1], "{{Claim_id}}": claim["id"],
              "{{dateTime}}": created, "{{free text}}": "Lolos purifikasi", "{{YYYY-MM-DD}}": created[:10]}
    return _fill(json.loads(path.read_text(encoding="utf-8")), values)


def verification_answer(runtime, claim: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The reference verification for `claim`, paying its INA-CBG total as published (the benefit cap)."""
    answer = reference_answer("verifikasi", claim, **kwargs)
    benefit = package_total(stored(runtime, "Claim", claim["id"]).content)
    for total in answer["total"]:
        if total["category"]["coding"][0]["code"] == "benefit":
            total["amount"]["value"] = benefit
    answer["payment"]["amount"]["value"] = benefit
    return answer


def decision(purification_id: str, status: dict[str, str] = LANJUT, **elements: Any) -> dict[str, Any]:
    """A PurificationDecision as fixtures/satusehat/examples-derived/purification-decision.json shapes it."""
    body = {
        "resourceType": "PurificationDecision",
        "identifier": [{"system": f"http://sys-ids.kemkes.go.id/purificationdecision/{HOSPITAL}",
                        "value": "PD-2026-000123"}],
        "created": "2026-10-20T10:00:00+07:00",
        "status": {"coding": [status]},
        "insurer": {"reference": f"Organization/{BPJS_ORG}"},
        "provider": {"reference": f"Organization/{HOSPITAL}"},
        "claimResponse": {"reference": f"ClaimResponse/{purification_id}"},
    }
    return {**body, **elements}


def hospital_write(runtime, resource: dict[str, Any], tenant: str = HOSPITAL, *, author: str = "facility:test"):
    """Create a resource in a hospital's tenant through the server's FHIR service (interceptors included)."""
    with runtime.store.unit_of_work(tenant_scope(tenant)) as uow:
        return runtime.fhir_service(uow, author=author).create(resource)[0]


def hospital_update(runtime, resource: dict[str, Any], tenant: str = HOSPITAL, *, author: str = "facility:test"):
    with runtime.store.unit_of_work(tenant_scope(tenant)) as uow:
        return runtime.fhir_service(uow, author=author).update(resource["resourceType"], resource["id"], resource)[0]


class Clock:
    """A settable aware clock for the decision period and the simulator's grace period."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def catch_up(self, **delta: float) -> None:
        """`delta` after the real time (back, if this clock was further ahead): the store stamps writes with the
        real time, so what was written so far is then `delta` old on this clock."""
        self.now = datetime.now(timezone.utc) + timedelta(**delta)


def simulate(runtime, clock: Clock, **after: float) -> int:
    """One pass of the runtime's BPJS-K simulator once its grace period (or `after`) has passed for everything
    written so far; how many answers it wrote."""
    simulator = runtime.bpjs_simulator
    clock.catch_up(**(after or {"seconds": simulator.delay.total_seconds() + 1}))
    return simulator.run_due(runtime.store)


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(0)], value)
    return value
