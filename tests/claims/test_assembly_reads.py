"""A claim job's reading of what its Claim rests on (`ClaimAssembler(remember=True)`): the Claim's references are
read together (`_prefetch`: one statement for the Encounter, Invoice, Patient, Coverage, Organization,
practitioners, Conditions and Procedures; one for the Account and the Encounter's practitioners; one for the
Invoice's ChargeItems; one for what the evidence reads by reference: supportingInfo's citations, the billed items'
services and products), and the context and Bundle record read are the ones reading each reference alone gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.store.scope import Scope

from pipelinekit import statements_sent
from testkit import HOSPITAL, authorized

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {"02-hip-replacement-special-cmg": (32, 10), "03-class-upgrade": (27, 9)}  # statements: alone, together


def _read(runtime, claim_id: str, *, remember: bool, scope: Scope) -> tuple[object, object, list[str]]:
    with statements_sent(runtime.database.engine) as sent, \
            runtime.store.unit_of_work(scope, write=False) as uow:
        claim = uow.resources.find("Claim", claim_id).content
        before = len(sent)
        assembler = ClaimAssembler(uow.resources, runtime.settings.timezone, remember=remember)
        ctx, record = assembler.context_and_bundle_record(claim)
        return ctx, record, sent[before:]


@pytest.mark.parametrize("case", ["02-hip-replacement-special-cmg", "03-class-upgrade"])
def test_a_jobs_reading_is_the_same_in_fewer_statements(app, runtime, case):
    transaction = json.loads((EXAMPLES / case / "transaction.json").read_text(encoding="utf-8"))
    assert authorized(app).post("", transaction).status_code == 200
    claim_id = next(e["resource"]["id"] for e in transaction["entry"] if e["resource"]["resourceType"] == "Claim")
    hospital = Scope(tenant=HOSPITAL, all_tenants=False)

    alone_ctx, alone_record, alone = _read(runtime, claim_id, remember=False, scope=hospital)
    ctx, record, together = _read(runtime, claim_id, remember=True, scope=hospital)

    assert ctx == alone_ctx and record == alone_record
    assert ctx.patient is not None and ctx.encounter is not None and ctx.account is not None and ctx.charge_items
    by_id = [s for s in together if "WHERE resource.logical_id IN" in " ".join(s.split())]
    # the Claim's references; the Invoice's ChargeItems (the Account: read alone); what the evidence cites
    assert len(by_id) == 3
    assert (len(alone), len(together)) == EXPECTED[case]
