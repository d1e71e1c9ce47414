"""The BPJS Kesehatan Organization: the insurer every hospital's Coverage and Claim refer to and none owns. It is
stored once, shared (no tenant), when the server starts."""

from __future__ import annotations

from typing import Any

from fhirclaim.bpjs.simulator import ServiceFactory
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.unit_of_work import Store

SEED_AUTHOR = "system:seed"


def insurer(organization_id: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": organization_id, "active": True,
            "identifier": [{"system": "http://sys-ids.kemkes.go.id/organization", "value": organization_id}],
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                  "code": "ins", "display": "Insurance Company"}]}],
            "name": "BPJS Kesehatan"}


def seed_insurer(store: Store, service: ServiceFactory, organization_id: str) -> None:
    """Store the insurer unless it is there (a restart writes nothing). Processes that start together on a new
    database (the production server's workers) may each find it missing: the writes that lose to the first are
    refused as duplicates (409), and the insurer is there, as the first stored it."""
    try:
        with store.unit_of_work() as uow:
            if uow.resources.find("Organization", organization_id) is None:
                service(uow, SEED_AUTHOR).update("Organization", organization_id, insurer(organization_id))
    except FhirError as error:
        if error.status != 409 or any(issue.code != "duplicate" for issue in error.issues):
            raise
