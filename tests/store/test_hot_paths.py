"""The repository's hot paths (issue 17): an id this transaction generated names nothing until it is stored, so a
lookup of it asks nothing of the database and its insert needs no savepoint; a client's own id still does; a row
updated through the statements built once does not stay stale in the session; a stored resource carries the bytes
it was stored as, which a read answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from fhirclaim.fhir import jsonio
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.scope import SYSTEM, tenant_scope


def _statements(runtime) -> list[str]:
    seen: list[str] = []
    event.listen(runtime.database.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: seen.append(statement.split(None, 1)[0].upper()))
    return seen


def test_a_generated_id_is_looked_up_without_a_query_and_stored_without_a_savepoint(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        resource_id = uow.resources.new_id()
        seen = _statements(runtime)
        assert uow.resources.find("Patient", resource_id) is None
        assert seen == []
        stored = uow.resources.create({"resourceType": "Patient"}, resource_id=resource_id)
        assert "SAVEPOINT" not in seen and stored.id == resource_id
        assert uow.resources.viewing(SYSTEM).find("Patient", resource_id).version_id == 1  # stored: found again


def test_a_clients_id_taken_is_a_409_that_leaves_the_transaction_going_without_a_savepoint(runtime):
    """The INSERT of a chosen id does nothing where the id is taken in its partition (ON CONFLICT DO NOTHING): no
    savepoint, and no ORM session made for one."""
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        seen = _statements(runtime)
        uow.resources.create({"resourceType": "Patient", "gender": "male"}, resource_id="p1")
        with pytest.raises(FhirError) as refused:
            uow.resources.create({"resourceType": "Patient", "gender": "female"}, resource_id="p1")
        assert refused.value.status == 409 and "Patient/p1 already exists" in str(refused.value.outcome())
        assert "SAVEPOINT" not in seen and uow.session.orm_session is None
        assert uow.resources.find("Patient", "p1").content["gender"] == "male"  # the transaction goes on
        uow.resources.create({"resourceType": "Patient"}, resource_id="p2")
    with runtime.store.unit_of_work(tenant_scope("rs-b")) as uow:
        uow.resources.create({"resourceType": "Patient", "gender": "other"}, resource_id="p1")  # another partition
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        found = uow.resources.search(parse_search("Patient", [("_id", "p1")])).matches
        assert sorted((s.tenant, s.id, s.version_id, s.content["gender"]) for s in found) == [
            ("rs-a", "p1", 1, "male"), ("rs-b", "p1", 1, "other")]
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        assert uow.resources.history("Patient", "p1").total == 1  # the refused create wrote no version either


def test_an_update_is_seen_by_a_search_of_the_same_transaction(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient", "gender": "male"}, resource_id="p1")
        assert uow.resources.search(parse_search("Patient", [])).matches[0].version_id == 1
        uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "female"})
        found = uow.resources.search(parse_search("Patient", [])).matches[0]
        assert (found.version_id, found.content["gender"]) == (2, "female")


def test_a_stored_resource_carries_the_bytes_it_was_stored_as(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        created = uow.resources.create({"resourceType": "Patient", "birthDate": "1980-01-02"}, resource_id="p1")
        assert jsonio.loads_value(created.text) == created.content
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        read = uow.resources.read("Patient", "p1")
        assert read.text == jsonio.dumps(read.content) and read.content == created.content


def test_an_update_given_what_find_answered_reads_nothing_again(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient", "gender": "male"}, resource_id="p1")
        current = uow.resources.find("Patient", "p1")
        seen = _statements(runtime)
        stored, created = uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "female"},
                                               current=current)
        assert "SELECT" not in seen and (stored.version_id, created) == (2, False)
        unchanged, _ = uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "female"},
                                            current=uow.resources.find("Patient", "p1"))
        assert unchanged.version_id == 2  # an unchanged resend writes nothing
        found = uow.resources.search(parse_search("Patient", [("gender", "female")])).matches
        assert [(f.id, f.version_id) for f in found] == [("p1", 2)]  # indexed under the new version
        assert uow.resources.history("Patient", "p1").total == 2


def test_an_update_given_a_version_that_is_no_longer_current_is_refused(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient"}, resource_id="p1")
        stale = uow.resources.find("Patient", "p1")
        uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "male"})
        with pytest.raises(FhirError) as refused:
            uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "female"}, current=stale)
        assert refused.value.status == 412


def test_an_update_given_nothing_found_creates_under_the_clients_id(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        stored, created = uow.resources.update({"resourceType": "Patient", "id": "p9"}, current=None)
        assert (stored.version_id, created) == (1, True)
        with pytest.raises(FhirError) as refused:  # had it been there after all, the insert says so
            uow.resources.update({"resourceType": "Patient", "id": "p9"}, current=None)
        assert refused.value.status == 409


def test_a_read_parses_its_content_only_when_asked(runtime):
    from fhirclaim.store import repository

    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient", "multipleBirthInteger": 2, "extension": [
            {"url": "urn:x", "valueDecimal": Decimal("1.50")}]}, resource_id="p1")
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        read = uow.resources.read("Patient", "p1")
        assert vars(read)["_content"] is repository._FROM_TEXT  # not parsed: a read answers `text`
        assert read.content == jsonio.loads_value(read.text)
        assert str(read.content["extension"][0]["valueDecimal"]) == "1.50"  # parsed as stored, decimals kept
        assert vars(read)["_content"] is read.content  # parsed once
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.delete("Patient", "p1")
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        assert uow.resources.find("Patient", "p1").content is None  # a deletion has none
