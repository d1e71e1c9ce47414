"""What hospitals disclose to BPJS-K: the signed claim Bundles the pipeline publishes, every resource in them,
and the ClaimResponses and PurificationDecisions that answer them. BPJS-K's scope is exactly this set."""

from __future__ import annotations

from fhirclaim.auth.policy import BPJS_SUBTYPES, claim_response_subtype
from fhirclaim.fhir.service import ResourceChange
from fhirclaim.store.access import DisclosureRow
from fhirclaim.store.db import insert_for
from fhirclaim.store.jobs import utcnow
from fhirclaim.store.unit_of_work import UnitOfWork


class DisclosureListener:
    def __init__(self, publisher: str):
        self.publisher = publisher  # the author of published claim Bundles (the pipeline)

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        stored = change.after
        if stored.deleted:
            return
        content = stored.content
        keys: list[tuple[str, str]] = []
        if stored.resource_type == "Bundle" and change.author == self.publisher and content.get("signature"):
            keys = [(stored.resource_type, stored.id)]
            keys += [(e["resource"]["resourceType"], e["resource"]["id"]) for e in content.get("entry") or []
                     if isinstance(e.get("resource"), dict) and e["resource"].get("id")]
        elif stored.resource_type == "ClaimResponse" and claim_response_subtype(content) in BPJS_SUBTYPES:
            keys = [(stored.resource_type, stored.id)]
        elif stored.resource_type == "PurificationDecision":
            keys = [(stored.resource_type, stored.id)]
        if keys:
            disclose(uow, keys, stored.tenant)


def disclose(uow: UnitOfWork, keys: list[tuple[str, str]], tenant: str | None) -> None:
    now = utcnow()
    rows = [{"resource_type": t, "resource_id": i, "tenant": tenant, "disclosed_at": now} for t, i in set(keys)]
    uow.session.execute(insert_for(uow.session)(DisclosureRow).values(rows).on_conflict_do_nothing())
