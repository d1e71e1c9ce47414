"""A commit that queued a claim job or a webhook notification wakes this process's waiting worker at once
(`store/commit_notices.py`): one call per committed transaction that noticed the topic, none for a rollback or for a
transaction that queued nothing."""

from __future__ import annotations

import pytest

from fhirclaim.store import commit_notices


@pytest.fixture
def calls(runtime) -> dict[str, int]:
    counted = {commit_notices.CLAIM_JOB_QUEUED: 0, commit_notices.WEBHOOK_QUEUED: 0}
    for topic in counted:
        runtime.store.on_commit(topic, lambda topic=topic: counted.__setitem__(topic, counted[topic] + 1))
    return counted


def test_a_committed_enqueue_is_announced_once_after_commit(runtime, calls):
    with runtime.store.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        uow.jobs.enqueue("c-2", 1, "10000004", "submit")
        assert calls[commit_notices.CLAIM_JOB_QUEUED] == 0  # not before the commit: the worker would find nothing
    assert calls == {commit_notices.CLAIM_JOB_QUEUED: 1, commit_notices.WEBHOOK_QUEUED: 0}


def test_a_rolled_back_enqueue_is_not_announced(runtime, calls):
    with pytest.raises(RuntimeError), runtime.store.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        raise RuntimeError("the write failed")
    with runtime.store.unit_of_work() as uow:  # the next transaction does not inherit the rolled-back notice
        uow.jobs.latest_for_claim("c-1", "10000004")
    assert calls[commit_notices.CLAIM_JOB_QUEUED] == 0


def test_a_write_that_queues_nothing_announces_nothing(runtime, calls):
    """A client's write through the FHIR service, every listener run (pipeline trigger, webhook outbox): a Patient
    queues no claim job, and with no Subscription no notification."""
    with runtime.store.unit_of_work() as uow:
        runtime.fhir_service(uow, author="test").create({"resourceType": "Patient", "gender": "female"})
    assert calls == {commit_notices.CLAIM_JOB_QUEUED: 0, commit_notices.WEBHOOK_QUEUED: 0}
