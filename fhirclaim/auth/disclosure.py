"""What hospitals disclose to BPJS-K: the signed claim Bundles the pipeline publishes, every resource in them,
and the ClaimResponses and PurificationDecisions that answer them. BPJS-K's scope is exactly this set, version by
version: the versions of a Claim or Patient from before its publication (or after, until it is published again)
stay the hospital's."""

from __future__ import annotations

from typing import Any

from fhirclaim.auth.policy import BPJS_SUBTYPES, claim_response_subtype
from fhirclaim.clock import naive_utc_now
from fhirclaim.fhir import integers
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.scope import SHARED_PARTITION, partition_of
from fhirclaim.store.unit_of_work import UnitOfWork

Key = tuple[str, str, int | None]  # type, id, version (None: the current one)


class DisclosureListener:
    """Discloses, in the writing transaction, each signed Bundle the server itself writes (`server_authored`: the
    pipeline's publication) with every version in it, and each BPJS-K answer and PurificationDecision."""

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        stored = change.after
        if stored.deleted:
            return
        content = stored.content
        keys: list[Key] = []
        if stored.resource_type == "Bundle" and change.server_authored and content.get("signature"):
            keys = [(stored.resource_type, stored.id, stored.version_id)]
            keys += [_entry_key(e["resource"]) for e in content.get("entry") or []
                     if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("id")]
        elif stored.resource_type == "ClaimResponse" and claim_response_subtype(content) in BPJS_SUBTYPES:
            keys = [(stored.resource_type, stored.id, stored.version_id)]
        elif stored.resource_type == "PurificationDecision":
            keys = [(stored.resource_type, stored.id, stored.version_id)]
        if keys:
            disclose(uow, keys, stored.tenant)


def _entry_key(resource: dict[str, Any]) -> Key:
    """A Bundle entry is a copy of a stored version: the one its `meta.versionId` names."""
    version = (resource.get("meta") or {}).get("versionId")
    return resource["resourceType"], resource["id"], integers.ascii_int(version) if isinstance(version, str) else None


def disclose(uow: UnitOfWork, keys: list[Key], tenant: str | None) -> None:
    """Disclose these versions of the tenant's resources (shared ones are visible to BPJS-K anyway)."""
    partition = partition_of(tenant)
    versions = []
    for resource_type, resource_id, version in set(keys):
        version = version if version is not None else _current_version(uow, partition, resource_type, resource_id)
        if version is not None:
            versions.append((resource_type, resource_id, version))
    uow.disclosures.add(partition, versions, tenant, naive_utc_now())


def _current_version(uow: UnitOfWork, partition: str, resource_type: str, resource_id: str) -> int | None:
    """The version a key without one means: the current one (none for shared resources, never disclosed)."""
    if partition == SHARED_PARTITION:
        return None
    return uow.disclosures.current_version(partition, resource_type, resource_id)
