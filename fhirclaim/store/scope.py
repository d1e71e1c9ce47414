"""Which rows a caller may see and where its writes land: the tenant boundary, applied in SQL.

The store never trusts a handler to filter: every read, search, include and history query of the repository
adds `scope.condition(row)`. The system scope (the pipeline, the CLI, tests of the store itself) sees all; a
hospital sees its own tenant plus shared rows (no tenant: the BPJS Kesehatan Organization); BPJS-K sees what
hospitals disclosed to it (`disclosure`) plus shared rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_, true

from fhirclaim.store.access import DisclosureRow


@dataclass(frozen=True)
class Scope:
    tenant: str | None = None  # where writes land; None = no tenant (shared, e.g. the system's own)
    all_tenants: bool = True  # True: sees every tenant's rows
    shared_visible: bool = True  # rows without a tenant are visible
    disclosed_only: bool = False  # BPJS-K: only disclosed rows (and shared ones)

    def condition(self, row) -> ColumnElement[bool]:
        """`row`: the resource table, an alias of it, or the version table (same column names)."""
        if self.all_tenants:
            return true()
        own = row.tenant == self.tenant
        if self.disclosed_only:
            own = or_(own, exists().where(DisclosureRow.resource_type == row.resource_type,
                                          DisclosureRow.resource_id == row.logical_id))
        return or_(own, row.tenant.is_(None)) if self.shared_visible else own

    def can_see(self, tenant: str | None, disclosed: bool = False) -> bool:
        if self.all_tenants or (tenant is None and self.shared_visible) or tenant == self.tenant:
            return True
        return self.disclosed_only and disclosed


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
        return Scope(tenant=BPJS_TENANT, all_tenants=False, disclosed_only=True)
    return Scope(tenant=tenant, all_tenants=False)
