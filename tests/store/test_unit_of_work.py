"""What the unit of work offers code outside store/ instead of its session: a view of the same transaction in
another scope, a savepoint that contains a refused write, a database URL that can be shown."""

from __future__ import annotations

import pytest

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
