"""What hospitals disclosed to BPJS-K, version by version (auth/disclosure.py decides what is disclosed)."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
        if self.session.get_bind().dialect.name == "postgresql":  # one statement, not one per row (issue 17)
            types, ids, numbers = (list(column) for column in zip(*versions, strict=True))
            execute(self.session, _INSERT_DISCLOSED_ARRAYS, {"partition": partition, "types": types, "ids": ids,
                                                             "versions": numbers, "tenant": tenant,
                                                             "disclosed_at": now})
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


# PostgreSQL: the versions as three arrays, unnested into rows. A signed Bundle discloses ~40 versions, which as an
# executemany are ~40 statements in psycopg's pipeline (~1 ms of CPU); this is one statement, compiled once.
_UNNESTED = func.unnest(bindparam("types", type_=ARRAY(String)), bindparam("ids", type_=ARRAY(String)),
                        bindparam("versions", type_=ARRAY(Integer))).table_valued(
    "resource_type", "resource_id", "version_id").render_derived()
_INSERT_DISCLOSED_ARRAYS = pg_insert(_DISCLOSED).from_select(
    ["partition", "resource_type", "resource_id", "version_id", "tenant", "disclosed_at"],
    select(bindparam("partition", type_=String), _UNNESTED.c.resource_type, _UNNESTED.c.resource_id,
           _UNNESTED.c.version_id, bindparam("tenant", type_=String), bindparam("disclosed_at", type_=DateTime)),
).on_conflict_do_nothing()


@functools.cache
def _insert_disclosed(dialect_insert):
    """The INSERT of disclosed versions, nothing for one disclosed already (`dialect_insert`: from `insert_for`)."""
    return dialect_insert(_DISCLOSED).on_conflict_do_nothing()

