"""The pipeline's own writes (grouping ClaimResponse, Claim with the server's fields, signed Bundle) are not
validated again when written (issue 17): this test validates every one of them instead, for every example case on
both E-Klaim protocols, and checks that client writes are still validated."""

from __future__ import annotations

import json

import pytest
from pipeline_kit import GROUPED, REJECTED, SIMRS, load_case, post_transaction, run_jobs, signed_bundle
from sqlalchemy import select

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
