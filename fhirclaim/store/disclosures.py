"""What hospitals disclosed to BPJS-K, version by version (auth/disclosure.py decides what is disclosed)."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from fhirclaim.store.access import DisclosureRow
from fhirclaim.store.db import insert_for
from fhirclaim.store.execution import execute
from fhirclaim.store.models import ResourceRow

Disclosed = tuple[str, str, int]  # resource type, id, version


class DisclosureRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, partition: str, versions: list[Disclosed], tenant: str | None, now: datetime) -> None:
        """Disclose these versions of the partition's resources; one disclosed already stays as it was."""
        if not versions:
            return
        rows = [{"partition": partition, "resource_type": resource_type, "resource_id": resource_id,
                 "version_id": version, "tenant": tenant, "disclosed_at": now}
                for resource_type, resource_id, version in versions]
        execute(self.session, _insert_disclosed(insert_for(self.session)), rows)  # executemany, statement built once

    def current_version(self, partition: str, resource_type: str, resource_id: str) -> int | None:
        """The version a resource of the partition is at now (None: no such resource)."""
        return execute(self.session, _CURRENT_VERSION, {"partition": partition, "resource_type": resource_type,
                                                      "logical_id": resource_id}).scalar_one_or_none()


_DISCLOSED = DisclosureRow.__table__
_CURRENT_VERSION = select(ResourceRow.version_id).where(ResourceRow.partition == bindparam("partition"),
                                                        ResourceRow.resource_type == bindparam("resource_type"),
                                                        ResourceRow.logical_id == bindparam("logical_id"))


@functools.cache
def _insert_disclosed(dialect_insert):
    """The INSERT of disclosed versions, nothing for one disclosed already (`dialect_insert`: from `insert_for`)."""
    return dialect_insert(_DISCLOSED).on_conflict_do_nothing()

