"""The pipeline's own writes (grouping ClaimResponse, Claim with the server's fields, signed Bundle) are not
validated again when written, nor their references resolved again (issue 17): this test validates every one of
them instead, and resolves their references, for every example case on both E-Klaim protocols, and checks that
client writes are still validated."""

from __future__ import annotations

import json

import pytest
from pipeline_kit import (
    GROUPED,
    REJECTED,
    SIMRS,
    grouping_response,
    load_case,
    post_transaction,
    read,
    run_jobs,
    signed_bundle,
)
from sqlalchemy import event, select

from fhirclaim.bpjs.worklist_projection import encounter_reference
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.models import ResourceVersionRow


def _pipeline_versions(runtime) -> list[tuple[str, dict]]:
    with runtime.store.unit_of_work(write=False) as uow:
        rows = uow.session.execute(select(ResourceVersionRow).where(ResourceVersionRow.author == PIPELINE_AUTHOR)
                                   ).scalars().all()
        return [(f"{r.resource_type}/{r.logical_id}/_history/{r.version_id}", r.content) for r in rows if r.content]


@pytest.mark.parametrize("protocol", ["5.1", "5.10"])
def test_every_resource_the_pipeline_writes_is_valid(settings, protocol):
    from fhirclaim.runtime import Runtime

    runtime = Runtime(settings.model_copy(update={"eklaim_protocol": protocol}))
    try:
        for name in (*GROUPED, REJECTED):
            post_transaction(runtime, load_case(name).transaction)
        run_jobs(runtime)
        written = _pipeline_versions(runtime)
        kinds = {what.split("/", 1)[0] for what, _ in written}
        assert {"Claim", "ClaimResponse", "Bundle"} <= kinds, kinds
        with runtime.store.unit_of_work(write=False) as uow:
            service = runtime.fhir_service(uow, author=SIMRS)  # a client's service: it validates
            for what, content in written:
                try:
                    service.validate_or_raise(json.loads(content), None)
                except FhirError as exc:
                    pytest.fail(f"{what} the pipeline wrote is not valid: {exc.outcome()}")
                if not what.startswith("Bundle/"):  # nor resolved again: each of its references resolves
                    resource = json.loads(content)
                    assert service._reference_issues(resource["resourceType"], resource)[0] == [], what
    finally:
        runtime.close()


def test_client_writes_are_still_validated_and_the_pipeline_service_is_the_only_trusting_one(runtime):
    claim = {**load_case(GROUPED[0]).claim, "status": "not-a-status"}
    with runtime.store.unit_of_work() as uow:
        with pytest.raises(FhirError) as refused:
            runtime.fhir_service(uow, author=SIMRS).update("Claim", claim["id"], claim)
    assert refused.value.status in (400, 422)
    with runtime.store.unit_of_work(write=False) as uow:
        assert runtime.fhir_service(uow, author=SIMRS).server_authored is False
        assert runtime.services.server(uow, PIPELINE_AUTHOR).server_authored is True


def test_the_pipeline_run_validates_nothing_again(runtime, monkeypatch):
    from fhirclaim.interactions.service import FhirService

    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    validated = []
    original = FhirService.validate_or_raise
    monkeypatch.setattr(FhirService, "validate_or_raise",
                        lambda self, resource, expected: validated.append(resource["resourceType"])
                        or original(self, resource, expected))
    assert len(run_jobs(runtime)) == 1
    assert signed_bundle(runtime, case.claim_id) is not None and validated == []


def _grouped_claim(runtime) -> dict:
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    run_jobs(runtime)
    return read(runtime, "Claim", case.claim_id)


def test_a_server_update_takes_the_version_its_caller_found_without_reading_it_again(runtime):
    claim = _grouped_claim(runtime)
    with runtime.store.unit_of_work() as uow:
        found = uow.resources.find("Claim", claim["id"])
        seen = _statements(runtime)
        stored, _ = runtime.services.server(uow, PIPELINE_AUTHOR).update(
            "Claim", claim["id"], {**_without_meta(claim), "text": _TEXT}, current=found)
        claim_reads = [s for s, params in seen if s.startswith("SELECT") and "resource.logical_id = " in s
                       and ("Claim", claim["id"]) == tuple(params[:2])]
    assert stored.version_id == found.version_id + 1 and claim_reads == []
    assert read(runtime, "Claim", claim["id"])["text"] == _TEXT


def test_a_server_update_against_a_version_written_since_is_refused(runtime):
    """The version check that guards concurrent writers holds for the version the caller passes: a client's write
    between the server's read and its write makes the server's write fail (412) and leaves the client's."""
    claim = _grouped_claim(runtime)
    with runtime.store.unit_of_work() as uow:
        stale = uow.resources.find("Claim", claim["id"])
        client, _ = runtime.fhir_service(uow, author=SIMRS).update("Claim", claim["id"],
                                                                   {**_without_meta(claim), "text": _TEXT})
        with pytest.raises(FhirError) as refused:
            runtime.services.server(uow, PIPELINE_AUTHOR).update(
                "Claim", claim["id"], {**_without_meta(claim), "text": {**_TEXT, "status": "extensions"}},
                current=stale)
    assert refused.value.status == 412 and client.version_id == stale.version_id + 1
    assert read(runtime, "Claim", claim["id"])["meta"]["versionId"] == str(client.version_id)


def test_a_server_write_that_passes_nothing_on_looks_no_reference_up_again(runtime):
    """In the system's scope what a reference check finds goes to no listener (`FhirService._reusable`): the
    server's write resolves nothing again there. A client's write in the same scope still resolves everything. (The
    worklist line reads the Claim's Patient and Encounter in one statement of the same shape when nothing it was
    given holds them: that one is the worklist's, told by its keys.)"""
    claim = _grouped_claim(runtime)
    response = {k: v for k, v in grouping_response(runtime, claim["id"]).items() if k != "meta"}
    line_keys = {"Patient", "Encounter", *(reference.split("/")[-1] for reference in (
        claim["patient"]["reference"], encounter_reference(claim)))}

    def lookups(seen):  # the statements reading resources by id, less the worklist line's
        return [s for s, params in seen if "logical_id IN (" in s and not line_keys <= set(params)]

    with runtime.store.unit_of_work() as uow:
        seen = _statements(runtime)
        runtime.services.server(uow, PIPELINE_AUTHOR).update("ClaimResponse", response["id"],
                                                             {**response, "disposition": "again"})
        server_lookups = lookups(seen)
        seen.clear()
        runtime.fhir_service(uow, author=SIMRS).update("ClaimResponse", response["id"],
                                                       {**response, "disposition": "by a client"})
        client_lookups = lookups(seen)
    assert server_lookups == [] and len(client_lookups) == 1


def test_only_the_servers_own_writes_pass_the_version_they_found(runtime):
    claim = _grouped_claim(runtime)
    with runtime.store.unit_of_work() as uow:
        found = uow.resources.find("Claim", claim["id"])
        with pytest.raises(ValueError):
            runtime.fhir_service(uow, author=SIMRS).update("Claim", claim["id"], _without_meta(claim), current=found)


_TEXT = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">claim</div>'}


def _without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def _statements(runtime) -> list[tuple[str, tuple]]:
    """(statement, parameters) of every statement from now on."""
    seen: list[tuple[str, tuple]] = []
    event.listen(runtime.database.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, params, *_: seen.append((" ".join(statement.split()), tuple(
                     params.values() if isinstance(params, dict) else params))))  # PostgreSQL's: by name
    return seen
