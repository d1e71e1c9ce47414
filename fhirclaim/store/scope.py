"""Which rows a caller may see, where its writes land, and in which partition a logical id is looked up.

The store never trusts a handler to filter: every read, search, include and history query of the repository
adds `scope.condition(row)`. The system scope (the pipeline, the CLI, tests of the store itself) sees all; a
hospital sees its own tenant plus shared rows (no tenant: the BPJS Kesehatan Organization); BPJS-K sees what
hospitals disclosed to it (`disclosure`: the versions that were in a published Bundle) plus shared rows.

Logical ids are unique per partition, the way HAPI's partitions are: a hospital's rows are in its tenant's
partition, shared rows in `SHARED_PARTITION` (a non-null key, so that the unique constraints hold on PostgreSQL,
where NULLs are distinct). An id resolves in the caller's own partition, then among shared rows; a caller that
sees several hospitals (BPJS-K, admin) names one (`Scope.partition`, from the `X-Fhirclaim-Tenant` header) when
an id is in more than one of them, and is otherwise answered 400, never with a guess.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, and_, exists, or_, true

from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.access import DisclosureRow

SHARED_PARTITION = "@shared"  # the partition of rows without a tenant; no organization id starts with "@"
PARTITION_HEADER = "X-Fhirclaim-Tenant"


def partition_of(tenant: str | None) -> str:
    """The partition a row of `tenant` is stored in."""
    return SHARED_PARTITION if tenant is None else tenant


@dataclass(frozen=True)
class Scope:
    tenant: str | None = None  # where writes land; None = no tenant (shared, e.g. the system's own)
    all_tenants: bool = True  # True: sees every tenant's rows
    shared_visible: bool = True  # rows without a tenant are visible
    disclosed_only: bool = False  # BPJS-K: only disclosed rows (and shared ones)
    partition: str | None = None  # a named partition: only its rows and shared ones are seen, ids resolve there
    current_disclosed: bool = False  # BPJS-K: a current row is seen only when that version was disclosed

    @property
    def home(self) -> str:
        """The partition where an id is looked up first."""
        return self.partition if self.partition is not None else partition_of(self.tenant)

    def within(self, tenant: str | None) -> Scope:
        """This scope narrowed to one tenant's partition (and shared rows)."""
        return replace(self, partition=partition_of(tenant))

    def finds_as_within(self, tenant: str | None) -> bool:
        """Whether this scope finds, by type and id, exactly what `SYSTEM.within(tenant)` finds: the rows of that
        tenant's partition and the shared ones, that partition first. True for a hospital's own scope
        (`tenant_scope`) in its own tenant; what it read may then stand for the system's read there."""
        return (tenant is not None and self.tenant == tenant and not self.all_tenants and self.shared_visible
                and not self.disclosed_only and not self.current_disclosed
                and self.partition in (None, partition_of(tenant)))

    def of_change(self, tenant: str | None) -> Scope:
        """What a subscriber of this scope may hear of a change in `tenant`'s partition: that version, and only
        when it is the subscriber's to see (for BPJS-K: disclosed, not merely an earlier version of it)."""
        return replace(self.within(tenant), current_disclosed=self.disclosed_only)

    def condition(self, row, *, versions: bool = False) -> ColumnElement[bool]:
        """`row`: the resource table, an alias of it, or the version table (same column names); `versions`: the
        rows are versions, and BPJS-K sees only the versions that were disclosed."""
        named = true() if self.partition is None else row.partition.in_((self.partition, SHARED_PARTITION))
        if self.all_tenants:
            return named
        own = row.tenant == self.tenant
        if self.disclosed_only:
            disclosed = [DisclosureRow.partition == row.partition, DisclosureRow.resource_type == row.resource_type,
                         DisclosureRow.resource_id == row.logical_id]
            if versions or self.current_disclosed:
                disclosed.append(DisclosureRow.version_id == row.version_id)
            own = or_(own, exists().where(*disclosed))
        return and_(or_(own, row.tenant.is_(None)) if self.shared_visible else own, named)

    def can_see(self, tenant: str | None, disclosed: bool = False) -> bool:
        if self.partition is not None and partition_of(tenant) not in (self.partition, SHARED_PARTITION):
            return False
        if self.all_tenants or (tenant is None and self.shared_visible) or tenant == self.tenant:
            return True
        return self.disclosed_only and disclosed

    def resolve(self, rows: Sequence, what: str):
        """The one of `rows` (visible rows of one type and id, in different partitions) an id names: the home
        partition's, else the shared one, else the only one; several others are ambiguous (400)."""
        if len(rows) < 2:
            return rows[0] if rows else None
        for partition in (self.home, SHARED_PARTITION):
            for row in rows:
                if row.partition == partition:
                    return row
        raise FhirError.of(400, "multiple-matches",
                           f"{what} is held by more than one hospital you can read: name the hospital with the "
                           f"{PARTITION_HEADER} header (its organization id)")


SYSTEM = Scope()
# BPJS-K's own rows (its Subscriptions) live under this tenant, which no hospital organization id can be.
BPJS_TENANT = "@bpjs"
# Rows only admin sees: admin's Subscriptions (their headers may carry credentials), audit of shared resources.
ADMIN_TENANT = "@admin"


def tenant_scope(tenant: str | None) -> Scope:
    """What the owner of rows of `tenant` may see: all (no tenant: the system), BPJS-K's view, or one hospital."""
    if tenant is None:
        return SYSTEM
    if tenant == BPJS_TENANT:
        return Scope(tenant=BPJS_TENANT, all_tenants=False, disclosed_only=True, current_disclosed=True)
    return hospital_scope(tenant)


@functools.lru_cache(maxsize=1024)
def hospital_scope(tenant: str) -> Scope:
    """What a hospital sees: its own tenant's rows and shared ones (a hospital's client acts in its own tenant)."""
    return Scope(tenant=tenant, all_tenants=False)
