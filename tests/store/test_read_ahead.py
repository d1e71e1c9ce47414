"""A read's token and its resource in one statement (`TokenRepository.lookup_reading`, issue 17): the rows it reads
ahead for the token's hospital are exactly what that hospital's own lookup finds, whatever the layout of its own,
shared and other tenants' rows with that id; they are used only by that hospital's scope for that type and id, and
once; and the token's state is read as `lookup` reads it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fhirclaim.store.scope import BPJS_TENANT, SYSTEM, hospital_scope, tenant_scope
from fhirclaim.store.unit_of_work import Store

from pipelinekit import write_patients

NOW = datetime(2026, 12, 5, 8, 0, 0)
# id -> the tenants that hold a Patient with it (None: a shared row); "gone" is rs-a's, deleted
LAYOUT = {"own": ["rs-a"], "shared": [None], "both": ["rs-a", None], "theirs": ["rs-b"],
          "theirs-and-shared": ["rs-b", None], "everyone": ["rs-a", "rs-b", None], "gone": ["rs-a"], "nobody": []}
# token hash -> (client id, role, org, revoked, disabled)
TOKENS = {"a" * 64: ("simrs-a", "facility", "rs-a", False, False),
          "b" * 64: ("simrs-b", "facility", "rs-b", False, False),
          "c" * 64: ("eklaim-a", "eklaim", "rs-a", False, False),
          "d" * 64: ("bpjs", "bpjs", None, False, False),
          "e" * 64: ("admin", "admin", None, False, False),
          "f" * 64: ("simrs-a-old", "facility", "rs-a", True, False),
          "0" * 64: ("simrs-a-off", "facility", "rs-a", False, True)}


@pytest.fixture
def store(database) -> Store:
    store = Store(database)
    write_patients(store, LAYOUT)
    with store.unit_of_work() as uow:
        for token_hash, (client_id, role, org, revoked, disabled) in TOKENS.items():
            uow.clients.add(client_id, "x", role=role, org=org, name=None, created_at=NOW)
            if disabled:
                uow.clients.disable(client_id)
            uow.tokens.add(token_hash, client_id, issued_at=NOW, expires_at=NOW + timedelta(hours=1))
            if revoked:
                uow.tokens.revoke(token_hash)
        uow.tokens.add("9" * 64, "no-such-client", issued_at=NOW, expires_at=NOW + timedelta(hours=1))
    return store


def _found(stored):
    return None if stored is None else (stored.tenant, stored.version_id, stored.deleted, stored.text)


def _scope_of(org, role):
    return hospital_scope(org) if org is not None else tenant_scope(BPJS_TENANT) if role == "bpjs" else SYSTEM


@pytest.mark.parametrize("token_hash", [*TOKENS, "9" * 64, "1" * 64])
def test_the_rows_read_ahead_are_what_the_tokens_hospital_finds_and_its_state_what_lookup_reads(
        store, statements, token_hash):
    for resource_id in LAYOUT:
        with store.reading() as uow:
            expected_holder = uow.tokens.lookup(token_hash)
            if expected_holder is not None:
                scope = _scope_of(expected_holder.org, expected_holder.role)
                expected = _found(uow.viewing(scope).resources.find("Patient", resource_id))
        with store.reading() as uow:
            holder = uow.tokens.lookup_reading(token_hash, "Patient", resource_id)
            assert holder == expected_holder, resource_id
            if holder is None:
                continue
            statements.clear()
            found = _found(uow.viewing(_scope_of(holder.org, holder.role)).resources.find("Patient", resource_id))
        assert found == expected, (token_hash, resource_id)
        # a hospital's own lookup (org set) runs no statement of its own; BPJS-K's and the admin's run theirs
        assert (statements == []) == (holder.org is not None), (token_hash, resource_id)


def test_what_a_hospital_reads_ahead_is_its_own_and_shared_rows_never_another_tenants(store):
    with store.reading() as uow:
        uow.tokens.lookup_reading("b" * 64, "Patient", "everyone")
        assert uow.viewing(hospital_scope("rs-b")).resources.find("Patient", "everyone").tenant == "rs-b"
    with store.reading() as uow:
        uow.tokens.lookup_reading("a" * 64, "Patient", "theirs")
        assert uow.viewing(hospital_scope("rs-a")).resources.find("Patient", "theirs") is None
    with store.reading() as uow:
        uow.tokens.lookup_reading("a" * 64, "Patient", "theirs-and-shared")
        assert uow.viewing(hospital_scope("rs-a")).resources.find("Patient", "theirs-and-shared").tenant is None


@pytest.mark.parametrize("scope, resource_type, resource_id", [
    (hospital_scope("rs-b"), "Patient", "everyone"),  # another hospital's scope
    (SYSTEM, "Patient", "everyone"),  # the system's
    (hospital_scope("rs-a").within("rs-a"), "Patient", "everyone"),  # the same tenant, another scope value
    (hospital_scope("rs-a"), "Patient", "own"),  # another id
    (hospital_scope("rs-a"), "Organization", "everyone"),  # another type
])
def test_rows_read_ahead_serve_only_the_same_scope_type_and_id_and_only_once(store, statements, scope,
                                                                            resource_type, resource_id):
    with store.reading() as uow:
        uow.tokens.lookup_reading("a" * 64, "Patient", "everyone")
        statements.clear()
        other = uow.viewing(scope).resources.find(resource_type, resource_id)
        assert len(statements) == 1  # looked up itself
        # and the rows read ahead were dropped by that lookup: the hospital's own lookup now runs its statement
        assert uow.viewing(hospital_scope("rs-a")).resources.find("Patient", "everyone").tenant == "rs-a"
        assert len(statements) == 2
    with store.reading(scope) as fresh:
        assert _found(other) == _found(fresh.resources.find(resource_type, resource_id))


def test_rows_read_ahead_are_used_once(store, statements):
    with store.reading() as uow:
        uow.tokens.lookup_reading("a" * 64, "Patient", "own")
        statements.clear()
        resources = uow.viewing(hospital_scope("rs-a")).resources
        assert resources.find("Patient", "own").tenant == "rs-a" and statements == []
        assert resources.find("Patient", "own").tenant == "rs-a" and len(statements) == 1
