"""Which rows a caller may see and where its writes land: the tenant boundary, applied in SQL.

The store never trusts a handler to filter: every read, search, include and history query of the repository
adds `scope.condition(row)`. The system scope (the pipeline, the CLI, tests of the store itself) sees all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, true


@dataclass(frozen=True)
class Scope:
    tenant: str | None = None  # where writes land; None = no tenant (shared, e.g. the system's own)
    all_tenants: bool = True  # True: sees every tenant's rows
    shared_visible: bool = True  # rows without a tenant (code systems, the BPJS organization...) are visible

    def condition(self, row) -> ColumnElement[bool]:
        if self.all_tenants:
            return true()
        own = row.tenant == self.tenant
        return or_(own, row.tenant.is_(None)) if self.shared_visible else own

    def can_see(self, tenant: str | None) -> bool:
        return self.all_tenants or tenant == self.tenant or (tenant is None and self.shared_visible)


SYSTEM = Scope()


def tenant_scope(tenant: str) -> Scope:
    return Scope(tenant=tenant, all_tenants=False)
