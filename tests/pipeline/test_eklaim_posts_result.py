"""What E-Klaim itself sends (issue 14 part 5): a Claim posted by an `eklaim` client with its own Package keeps it —
stored as E-Klaim's result and published (grouping ClaimResponse, signed Bundle) without regrouping; nobody calls
E-Klaim for it. A hospital client's Package is still the server's to write (dropped, then grouped by E-Klaim)."""

from __future__ import annotations

import copy
from typing import Any

from pipeline_kit import (
    GROUPED,
    grouping_response,
    jobs_of,
    load_case,
    package,
    processing,
    read,
    run_jobs,
    signed_bundle,
)

from fhirclaim.claims import systems

from testkit import authorized

CASE = load_case(GROUPED[0])
BASE = ("Q-5-44-0", 2_000_000)  # not what the server's grouper would choose for this case (Q-5-42-0, 325,400)
SPECIAL = ("YY-01-II", 1_500_000)


def eklaim_package() -> dict[str, Any]:
    def line(system: str, code: str, value: int) -> list[dict[str, Any]]:
        return [{"url": "code", "valueCodeableConcept": {"coding": [{"system": system, "code": code}]}},
                {"url": "value", "valueInteger": value}]

    return {"url": systems.PACKAGE_EXT, "extension": [
        {"url": "tariffClass", "valueCodeableConcept": {"coding": [{"system": systems.TARIFF_CLASS, "code": "BP"}]}},
        {"url": "basePackage", "extension": line(systems.INACBG, *BASE)},
        {"url": "additionalPackage", "extension": line(systems.INACBG_SPECIAL_CMG, *SPECIAL)}]}


def hospital_resources_then_claim() -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = copy.deepcopy(CASE.transaction)
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Claim"]
    return bundle, claim


def test_a_claim_e_klaim_posts_with_its_package_is_published_as_it_is(app, runtime, fhir):
    bundle, claim = hospital_resources_then_claim()
    assert fhir.post("", bundle).status_code == 200  # the hospital's record
    eklaim = authorized(app, role="eklaim")
    posted = eklaim.put(f"/Claim/{claim['id']}", {**claim, "extension": [eklaim_package()]})
    assert posted.status_code in (200, 201), posted.get_json()
    [job] = run_jobs(runtime)

    assert (job.kind, jobs_of(runtime, CASE.claim_id)[0].status) == ("publish", "done")
    stored = read(runtime, "Claim", CASE.claim_id)
    assert processing(stored) == "signed"
    assert package(stored)["base"] == BASE and dict(package(stored)["additional"]) == dict([SPECIAL])
    response = grouping_response(runtime, CASE.claim_id)
    assert response["outcome"] == "complete"
    benefit = next(t for t in response["total"] if t["category"]["coding"][0]["code"] == "benefit")
    assert benefit["amount"]["value"] == BASE[1] + SPECIAL[1]
    assert signed_bundle(runtime, CASE.claim_id)["signature"]
    assert runtime.tenant_policy.eklaim_gateway(None).record(CASE.sep) is None  # nobody asked E-Klaim to regroup it


def test_a_hospital_clients_package_is_dropped_and_the_claim_grouped(app, runtime, fhir):
    bundle, claim = hospital_resources_then_claim()
    assert fhir.post("", bundle).status_code == 200
    assert fhir.put(f"/Claim/{claim['id']}", {**claim, "extension": [eklaim_package()]}).status_code in (200, 201)
    [job] = run_jobs(runtime)
    assert job.kind == "submit"
    assert package(read(runtime, "Claim", CASE.claim_id))["base"] == ("Q-5-42-0", 325_400)
    assert runtime.tenant_policy.eklaim_gateway(None).record(CASE.sep) is not None


def test_e_klaim_without_a_package_is_a_claim_like_any_other(app, runtime, fhir):
    bundle, claim = hospital_resources_then_claim()
    assert fhir.post("", bundle).status_code == 200
    assert authorized(app, role="eklaim").put(f"/Claim/{claim['id']}", claim).status_code in (200, 201)
    [job] = run_jobs(runtime)
    assert (job.kind, jobs_of(runtime, CASE.claim_id)[0].status) == ("submit", "done")


def test_a_package_without_its_base_package_is_refused(app, runtime, fhir):
    bundle, claim = hospital_resources_then_claim()
    assert fhir.post("", bundle).status_code == 200
    broken = eklaim_package()
    broken["extension"] = [p for p in broken["extension"] if p["url"] != "basePackage"]
    answer = authorized(app, role="eklaim").put(f"/Claim/{claim['id']}", {**claim, "extension": [broken]})
    assert answer.status_code == 422
    assert answer.get_json()["resourceType"] == "OperationOutcome"
    assert run_jobs(runtime) == []
