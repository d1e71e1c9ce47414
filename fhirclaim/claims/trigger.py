"""How client writes of Claims reach the pipeline: an interceptor keeping the server's fields the server's, and a
listener enqueueing a job, in the writing transaction, when a client changed what E-Klaim is told."""

from __future__ import annotations

from typing import Any

from fhirclaim.claims.server_fields import client_content
from fhirclaim.fhir.service import ResourceChange
from fhirclaim.store.jobs import JobQueue
from fhirclaim.store.unit_of_work import UnitOfWork

WITHDRAWN = ("cancelled", "entered-in-error")


class ClaimServerFields:
    """ResourceInterceptor for client writes (the pipeline's own service runs without it)."""

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        if resource.get("resourceType") != "Claim":
            return resource
        current = uow.resources.find("Claim", resource["id"]) if resource.get("id") else None
        meta = {"meta": resource["meta"]} if "meta" in resource else {}
        if current is not None and not current.deleted and client_content(current.content) == client_content(
                resource):
            # an unchanged resend keeps what the server wrote, so the repository sees no change at all
            return {**{k: v for k, v in current.content.items() if k != "meta"}, **meta}
        return {**client_content(resource), **meta}


class PipelineTrigger:
    """ResourceListener: one job per client version of a Claim with use `claim` whose content changed."""

    def __init__(self, pipeline_author: str):
        self.pipeline_author = pipeline_author

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        after = change.after
        if after.resource_type != "Claim" or change.author == self.pipeline_author or after.deleted:
            return
        claim = after.content
        if claim.get("use") != "claim":
            return
        before = change.before.content if change.before and not change.before.deleted else None
        if before is not None and client_content(before) == client_content(claim):
            return
        if claim.get("status") in WITHDRAWN:
            if before is None or before.get("status") in WITHDRAWN:
                return  # nothing of it ever reached E-Klaim through this server, or it is withdrawn already
            kind = "cancel"
        else:
            kind = "submit"
        JobQueue(uow.session).enqueue(after.id, after.version_id, after.tenant, kind)
