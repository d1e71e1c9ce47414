"""The pipeline writes a claim's worklist line once per step that changes it (issue 17): its grouping write (the Claim
with E-Klaim's result and the grouping ClaimResponse) and its publication (the Claim, signed) each write the line once,
from the last of their changes (`FhirService.writing_together`), and the line says where the claim ended."""

from __future__ import annotations

import re

from pipeline_kit import GROUPED, load_case, post_transaction, processing, read, run_jobs
from sqlalchemy import event

from fhirclaim.bpjs.worklist_projection import encounter_reference
from fhirclaim.claims.pipeline import derived_id
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


def test_a_steps_writes_read_the_rows_they_write_and_the_lines_patient_and_encounter_together(runtime):
    """The grouping write reads the Claim's and its ClaimResponse's rows in one statement, the publication the
    Claim's and its Bundle's (`_JobRun._prefetch_puts`); each worklist line reads the Claim's Patient and Encounter
    in one (`read_claim_file`): none of them is read alone. The Claim alone once, as the run starts; its grouping
    ClaimResponse once, for the publication's line (found among the Claim's referrers)."""
    case = load_case(GROUPED[0])
    post_transaction(runtime, case.transaction)
    claim = read(runtime, "Claim", case.claim_id)
    ids = {"Claim": case.claim_id, "ClaimResponse": derived_id("grouping", case.claim_id),
           "Bundle": derived_id("bundle", case.claim_id),
           "Patient": claim["patient"]["reference"].split("/")[-1],
           "Encounter": encounter_reference(claim).split("/")[-1]}
    seen: list[tuple[str, object]] = []
    listener = lambda _c, _cur, statement, params, *_: seen.append((statement, params))  # noqa: E731
    event.listen(runtime.database.engine, "before_cursor_execute", listener)
    try:
        run_jobs(runtime)
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", listener)

    def values(params) -> list:
        return list(params.values()) if isinstance(params, dict) else list(params or ())

    single_reads = [values(params) for statement, params in seen
                    if re.fullmatch(r"SELECT resource\.pk, .* FROM resource WHERE resource\.resource_type = \S+ AND "
                                    r"resource\.logical_id = \S+( AND .*)?", " ".join(statement.split()))]
    alone = {kind: sum(params[:2] == [kind, resource_id] for params in single_reads)
             for kind, resource_id in ids.items()}
    # (a read PostgreSQL gets in one statement with rows held back, WITH …, is not counted: before this change the
    # Patient's first one went so, the others did not)
    assert alone == {"Claim": 1, "ClaimResponse": 1, "Bundle": 0, "Patient": 0, "Encounter": 0}
    assert processing(read(runtime, "Claim", case.claim_id)) == "signed"
