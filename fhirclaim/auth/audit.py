"""Audit: an R4 AuditEvent for every write (who, what, when, outcome) and for every denied request.

Writes are audited inside the writing transaction, so a change and its record exist together; denials in a
transaction of their own. Every AuditEvent belongs to someone: it lands in the tenant of what it is about (a
hospital reads its own trail), a refusal in the caller's own tenant (BPJS-K's under its tenant), and what concerns
shared resources or admin clients under `ADMIN_ONLY_TENANT`, which only admin sees. Requests with no valid
credentials at all are not AuditEvents: they go to the bounded `SecurityLog`. An AuditEvent is stored through the
repository directly: no listener, no webhook, no audit of the audit. The repository keeps them in the append-only
audit table (`store/audit_log.py`): one row per write, read and searched as AuditEvents (issue 17).
"""

from __future__ import annotations

from typing import Any

from fhirclaim.auth.principal import BPJS, HOSPITAL_ROLES, Principal
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.audit_log import AUTHOR
from fhirclaim.store.scope import ADMIN_TENANT, BPJS_TENANT
from fhirclaim.store.unit_of_work import Store, UnitOfWork

CLIENT_ID_SYSTEM = "https://fhirclaim.org/fhir/sid/client-id"
ACTIONS = {"create": "C", "update": "U", "patch": "U", "delete": "D", "read": "R", "search": "E", "operation": "E"}
# The tenant of AuditEvents only admin may read (no hospital organization id can be this: '@' is not in an id).
ADMIN_ONLY_TENANT = ADMIN_TENANT


def home_tenant(principal: Principal) -> str:
    """Where a refusal of this caller is recorded: its hospital, BPJS-K's own tenant, or admin-only."""
    if principal.role in HOSPITAL_ROLES and principal.org:
        return principal.org
    return BPJS_TENANT if principal.role == BPJS else ADMIN_ONLY_TENANT


def audit_event(*, interaction: str, who: str | None, outcome: str, description: str, what: str | None = None,
                address: str | None = None) -> dict[str, Any]:
    """outcome: 0 success, 4 minor failure (refused), 8 serious failure. No `recorded`: the store sets it, to the
    time its row records (`store/audit_log.rendered`), so the clock is read once per AuditEvent (issue 17)."""
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
        tenant = after.tenant if after.tenant is not None else ADMIN_ONLY_TENANT  # a shared resource: admin's
        uow.resources.create(event, author=AUTHOR, tenant=tenant)


def record_denied(store: Store, *, principal: Principal, interaction: str, status: int, description: str,
                  address: str | None) -> None:
    """A refused request of a known caller (403), in its own transaction (the request itself wrote nothing), in
    the caller's own tenant."""
    record(store, tenant=home_tenant(principal), interaction=interaction, who=principal.name, outcome="4",
           description=f"{status}: {description}", address=address)


def record(store: Store, *, tenant: str, interaction: str, who: str, outcome: str, description: str,
           address: str | None) -> None:
    """One AuditEvent in its own transaction, in `tenant`: for what no FHIR write of the request records."""
    event = audit_event(interaction=interaction, who=who, outcome=outcome, description=description, address=address)
    with store.unit_of_work() as uow:
        uow.resources.create(event, author=AUTHOR, tenant=tenant)
