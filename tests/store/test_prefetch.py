"""A transaction's entries by type and id, looked up in one statement (`SqlResourceRepository.prefetch`, issue 17):
each entry's lookup then finds exactly what it would have found alone, whatever the layout of its own, shared and
other tenants' rows with that id; the rows serve one lookup of that type and id by the same scope, and a write of
the resource drops them."""

from __future__ import annotations

import pytest

from fhirclaim.interactions import transaction
from fhirclaim.store.scope import SYSTEM, hospital_scope, tenant_scope
from fhirclaim.store.unit_of_work import Store

from pipelinekit import TENANT, statements_sent, write_patients

# id -> the tenants that hold a Patient with it (None: a shared row); "gone" is rs-a's, deleted
LAYOUT = {"own": ["rs-a"], "shared": [None], "both": ["rs-a", None], "theirs": ["rs-b"],
          "everyone": ["rs-a", "rs-b", None], "gone": ["rs-a"], "nobody": []}
KEYS = [("Patient", resource_id) for resource_id in LAYOUT] + [("Organization", "own")]


@pytest.fixture
def store(database) -> Store:
    store = Store(database)
    write_patients(store, LAYOUT)
    return store


def _found(resources, keys) -> list:
    return [(stored.id, stored.tenant, stored.version_id, stored.deleted) if stored is not None else None
            for stored in (resources.find(*key) for key in keys)]


@pytest.mark.parametrize("scope", [hospital_scope("rs-a"), hospital_scope("rs-b"), tenant_scope("rs-a"), SYSTEM],
                         ids=["hospital-a", "hospital-b", "tenant-a", "system"])
def test_each_lookup_finds_what_it_finds_alone_from_one_statement(store, statements, scope):
    with store.unit_of_work(scope, write=False) as uow:
        alone = _found(uow.resources, KEYS)
    with store.unit_of_work(scope) as uow:
        statements.clear()
        uow.resources.prefetch(KEYS)
        prefetched = _found(uow.resources, KEYS)
        assert len([s for s in statements if "FROM resource" in s]) == 1
        assert _found(uow.resources, KEYS[:2]) == alone[:2]  # asked again: read again (the rows serve one lookup)
        assert len([s for s in statements if "FROM resource" in s]) == 3
    assert prefetched == alone
    assert None in alone and any(found is not None for found in alone)


def test_the_rows_serve_only_the_scope_that_read_them(store, statements):
    with store.unit_of_work(hospital_scope("rs-a")) as uow:
        uow.resources.prefetch(KEYS)
        statements.clear()
        other = uow.viewing(hospital_scope("rs-b")).resources
        assert _found(other, [("Patient", "theirs")]) == [("theirs", "rs-b", 1, False)]  # read, not rs-a's "none"
        assert len(statements) == 1
        assert _found(uow.resources, [("Patient", "theirs")]) == [None]  # rs-a's rows were dropped: read again
        assert len(statements) == 2


def test_a_write_of_a_prefetched_resource_drops_its_rows(store):
    with store.unit_of_work(tenant_scope("rs-a")) as uow:
        resources = uow.resources
        before = resources.find("Patient", "both")
        resources.prefetch(KEYS)
        resources.update({"resourceType": "Patient", "id": "both", "gender": "other"}, current=before)  # no lookup
        assert resources.find("Patient", "both").version_id == 2  # not the version 1 fetched
        resources.create({"resourceType": "Patient", "gender": "male"}, resource_id="nobody")  # no lookup either
        assert resources.find("Patient", "nobody").version_id == 1  # not the "none" fetched
        assert resources.find("Patient", "own").version_id == 1  # fetched, used


def test_a_transactions_entries_are_looked_up_in_one_statement(runtime):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": f"p{n}", "gender": "female"},
         "request": {"method": "PUT", "url": f"Patient/p{n}"}} for n in range(4)]}
    with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        runtime.services.for_caller(uow, "facility:test").create({"resourceType": "Patient", "gender": "male"},
                                                                  resource_id="p1")
    with statements_sent(runtime.database.engine) as sent, runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        answer = transaction.process(runtime.services.for_caller(uow, "facility:test"), bundle, "http://x/fhir")
    assert [entry["response"]["status"][:3] for entry in answer["entry"]] == ["201", "200", "201", "201"]
    assert [entry["response"]["etag"] for entry in answer["entry"]] == ['W/"1"', 'W/"2"', 'W/"1"', 'W/"1"']
    looked_up = [statement for statement in sent if statement.lstrip().startswith("SELECT resource.pk")]
    assert len(looked_up) == 1 and "IN (" in looked_up[0]
