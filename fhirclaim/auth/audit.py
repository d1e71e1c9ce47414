"""Audit: an R4 AuditEvent for every write (who, what, when, outcome) and for every denied request.

Writes are audited inside the writing transaction, so a change and its record exist together; denials in a
transaction of their own. The AuditEvent lands in the tenant of what it is about, so a hospital reads its own
trail. It is stored through the repository directly: no listener, no webhook, no audit of the audit.
"""

from __future__ import annotations

from typing import Any

from fhirclaim.fhir import dates
from fhirclaim.fhir.service import ResourceChange
from fhirclaim.store.unit_of_work import Store, UnitOfWork

CLIENT_ID_SYSTEM = "https://fhirclaim.org/fhir/sid/client-id"
ACTIONS = {"create": "C", "update": "U", "patch": "U", "delete": "D", "read": "R", "search": "E", "operation": "E"}
AUTHOR = "system:audit"


def audit_event(*, interaction: str, who: str | None, outcome: str, description: str, what: str | None = None,
                address: str | None = None) -> dict[str, Any]:
    """outcome: 0 success, 4 minor failure (refused), 8 serious failure."""
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                             "code": "humanuser" if who and not who.startswith("system:") else "dataprocessor"}]},
        "who": _who(who), "requestor": True,
    }
    if address:
        agent["network"] = {"address": address, "type": "2"}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                 "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}],
        "action": ACTIONS.get(interaction, "E"),
        "recorded": dates.instant(dates.now_utc()),
        "outcome": outcome,
        "outcomeDesc": description[:1000],
        "agent": [agent],
        "source": {"observer": {"display": "fhirclaim"},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4",
                             "display": "Application Server"}]},
    }
    if what:
        event["entity"] = [{"what": {"reference": what}}]
    return event


def _who(who: str | None) -> dict[str, Any]:
    if not who:
        return {"display": "anonymous"}
    role, _, client_id = who.partition(":")
    if role == "system":
        return {"display": who}
    return {"identifier": {"system": CLIENT_ID_SYSTEM, "value": client_id}, "display": who}


class AuditListener:
    """A ResourceListener: one AuditEvent per stored change."""

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        after = change.after
        if after.resource_type == "AuditEvent":
            return
        what = f"{after.resource_type}/{after.id}/_history/{after.version_id}"
        event = audit_event(interaction=change.interaction, who=change.author, outcome="0",
                            description=f"{change.interaction} {what}", what=what)
        uow.resources.create(event, author=AUTHOR, tenant=after.tenant)


def record_denied(store: Store, *, who: str | None, tenant: str | None, interaction: str, status: int,
                  description: str, address: str | None) -> None:
    """A denied request (401, 403), in its own transaction: the request itself wrote nothing."""
    event = audit_event(interaction=interaction, who=who, outcome="4", description=f"{status}: {description}",
                        address=address)
    with store.unit_of_work() as uow:
        uow.resources.create(event, author=AUTHOR, tenant=tenant)
