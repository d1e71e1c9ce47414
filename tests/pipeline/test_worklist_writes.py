"""The pipeline writes a claim's worklist line once per step that changes it (issue 17): its grouping write (the Claim
with E-Klaim's result and the grouping ClaimResponse) and its publication (the Claim, signed) each write the line once,
from the last of their changes (`FhirService.writing_together`), and the line says where the claim ended."""

from __future__ import annotations

from pipeline_kit import GROUPED, load_case, post_transaction, run_jobs

from fhirclaim.store.scope import SYSTEM

from pipelinekit import statements_sent


def test_a_claim_through_the_pipeline_writes_its_line_once_per_step(runtime):
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    with statements_sent(runtime.database.engine) as sent:
        run_jobs(runtime)
    written = [s.split()[0] for s in sent if "claim_worklist" in s and not s.lstrip().upper().startswith("SELECT")]
    assert written == ["UPDATE", "UPDATE"]  # grouping, publication (before: the grouping's Claim, then its answer)
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        line = uow.worklist.get(None, case.claim_id)  # the examples are written as the system
    assert line is not None and line["status"] == "signed" and line["tariff"] is not None
