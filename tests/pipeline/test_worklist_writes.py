"""The pipeline writes a claim's worklist line once per step that changes it (issue 17): its grouping write (the Claim
with E-Klaim's result and the grouping ClaimResponse) and its publication (the Claim, signed) each write the line once,
from the last of their changes (`FhirService.writing_together`), and the line says where the claim ended."""

from __future__ import annotations

from pipeline_kit import GROUPED, load_case, post_transaction, run_jobs
from sqlalchemy import event

from fhirclaim.store.scope import SYSTEM


def test_a_claim_through_the_pipeline_writes_its_line_once_per_step(runtime):
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    written = []

    def listener(_conn, _cursor, statement, *_):
        if "claim_worklist" in statement and not statement.lstrip().upper().startswith("SELECT"):
            written.append(statement.split()[0])

    event.listen(runtime.database.engine, "before_cursor_execute", listener)
    try:
        run_jobs(runtime)
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", listener)
    assert written == ["UPDATE", "UPDATE"]  # grouping, publication (before: the grouping's Claim, then its answer)
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        line = uow.worklist.get(None, case.claim_id)  # the examples are written as the system
    assert line is not None and line["status"] == "signed" and line["tariff"] is not None
