"""What the unit of work offers code outside store/ instead of its session: a view of the same transaction in
another scope, a savepoint that contains a refused write, a read without an ORM session unless it needs one, a
database URL that can be shown."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.db import ConstraintViolation, without_password
from fhirclaim.store.scope import SYSTEM, tenant_scope


def test_a_view_in_another_scope_reads_the_same_transaction(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient"}, resource_id="p1")
        assert uow.resources.viewing(SYSTEM).find("Patient", "p1") is not None  # uncommitted, yet visible
        assert uow.resources.viewing(tenant_scope("rs-b")).find("Patient", "p1") is None  # not another hospital's
        assert uow.resources.viewing(SYSTEM).timezone == uow.resources.timezone
        assert uow.resources.viewing(SYSTEM, timezone_name="Asia/Jayapura").timezone == "Asia/Jayapura"


def test_a_write_a_unique_key_refuses_rolls_back_only_its_savepoint(runtime):
    with runtime.store.unit_of_work() as uow:
        uow.jobs.enqueue("c1", 1, "rs-a", "submit", run=1)
        with pytest.raises(ConstraintViolation), uow.savepoint():
            uow.jobs.enqueue("c1", 1, "rs-a", "submit", run=1)  # what two writers re-running one claim meet
        assert uow.jobs.latest_for_claim("c1", "rs-a").status == "queued"  # the first job, not superseded
    with runtime.store.unit_of_work(write=False) as uow:
        assert uow.jobs.latest_for_claim("c1", "rs-a").run == 1


def test_a_database_url_is_shown_without_its_password():
    shown = without_password("postgresql+psycopg://claims:s3cret@db.example:5432/fhirclaim")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg://claims:")


def test_a_read_runs_its_prebuilt_statements_without_an_orm_session_and_its_orm_queries_in_its_transaction(runtime):
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.create({"resourceType": "Patient", "gender": "female"}, resource_id="p1")
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.update({"resourceType": "Patient", "id": "p1", "gender": "male"})
    begun: list[object] = []  # the connection of every ORM session's transaction begun while listening
    listener = lambda _session, _transaction, connection: begun.append(connection)  # noqa: E731
    event.listen(Session, "after_begin", listener)
    try:
        with runtime.store.reading(tenant_scope("rs-a")) as uow:
            assert uow.resources.read("Patient", "p1").content["gender"] == "male"  # by id: prebuilt statements
            assert begun == []  # … on the read's connection, with no ORM session
            with runtime.store.unit_of_work(tenant_scope("rs-a")) as writer:  # committed after the read began
                writer.resources.update({"resourceType": "Patient", "id": "p1", "gender": "other"})
            begun.clear()  # the writer's own session
            assert uow.resources.vread("Patient", "p1", 1).content["gender"] == "female"  # an ORM query
            assert begun == [uow.session.connection()]  # joined to the read's connection and transaction
            if runtime.store.database.is_sqlite:  # SQLite: one snapshot, from the read's first statement
                with pytest.raises(FhirError) as refused:  # the ORM query did not see the later commit either
                    uow.resources.vread("Patient", "p1", 3)
                assert refused.value.status == 404
                assert uow.resources.read("Patient", "p1").content["gender"] == "male"
        with runtime.store.reading(tenant_scope("rs-a")) as uow:
            assert uow.resources.read("Patient", "p1").content["gender"] == "other"
            assert uow.resources.vread("Patient", "p1", 3).content["gender"] == "other"
    finally:
        event.remove(Session, "after_begin", listener)
