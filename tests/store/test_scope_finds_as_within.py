"""`Scope.finds_as_within`: which scopes find by type and id exactly what the system finds in one tenant's partition
(what a hospital's reference check read may stand for the worklist's read there: `store/lookups.py`)."""

from __future__ import annotations

from fhirclaim.store.scope import ADMIN_TENANT, BPJS_TENANT, SYSTEM, tenant_scope


def test_a_hospital_in_its_own_tenant_finds_as_the_system_there():
    assert tenant_scope("rs-a").finds_as_within("rs-a")
    assert tenant_scope("rs-a").within("rs-a").finds_as_within("rs-a")


def test_no_other_scope_does():
    assert not tenant_scope("rs-a").finds_as_within("rs-b")  # another tenant's partition
    assert not tenant_scope("rs-a").finds_as_within(None)  # the shared rows alone
    assert not SYSTEM.finds_as_within("rs-a")  # sees every tenant
    assert not tenant_scope(BPJS_TENANT).finds_as_within(BPJS_TENANT)  # disclosed versions only
    assert not tenant_scope(ADMIN_TENANT).within("rs-a").finds_as_within(ADMIN_TENANT)  # a partition not its own
