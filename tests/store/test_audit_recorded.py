"""An AuditEvent's time is read once (issue 17): `auth.audit.audit_event` leaves `recorded` to the store, which
writes the time its row records as both `recorded` and `meta.lastUpdated`."""

from __future__ import annotations

from sqlalchemy import select

from fhirclaim.auth.audit import AuditListener, audit_event
from fhirclaim.fhir import dates
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.audit_log import AuditLogRow
from fhirclaim.store.scope import SYSTEM, tenant_scope


def test_an_audit_events_recorded_is_the_time_its_row_records(runtime):
    assert "recorded" not in audit_event(interaction="create", who="facility:x", outcome="0", description="d")
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        patient = uow.resources.create({"resourceType": "Patient"})
        AuditListener().resource_changed(ResourceChange("create", None, patient, "facility:x"), uow)
    with runtime.database.reading() as read:
        row = read.execute(select(AuditLogRow.logical_id, AuditLogRow.recorded)
                           .where(AuditLogRow.entity_id == patient.id)).one()
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        event = uow.resources.read("AuditEvent", row.logical_id).content
    assert event["recorded"] == event["meta"]["lastUpdated"] == dates.instant(row.recorded)
    assert event["entity"] == [{"what": {"reference": f"Patient/{patient.id}/_history/1"}}]
