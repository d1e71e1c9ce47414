"""Active Subscriptions cached per process (issue 17): a write searches no Subscriptions when none changed, yet a new
one is honoured by the very next write, in another process too, and a deleted, stopped or rolled-back one is not.
"Another process" is a second Runtime on the same database: its own engine, listener and cache."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event
from webhook_helpers import claim, claim_response, subscription

from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import SYSTEM
from fhirclaim.webhooks import list_deliveries


@contextlib.contextmanager
def _statements(runtime):
    """Every SQL statement the runtime's engine runs inside the block, with its parameters."""
    seen: list[tuple[str, str]] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append((statement, repr(parameters)))

    event.listen(runtime.database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", record)


def _subscription_searches(seen) -> list[str]:
    return [statement for statement, parameters in seen if "'Subscription'" in parameters]


@pytest.fixture
def elsewhere(settings):
    """Another process's runtime on the same database."""
    other = Runtime(settings)
    yield other
    other.close()


def _write(runtime, resource_type: str, resource: dict) -> None:
    with runtime.store.unit_of_work(SYSTEM) as uow:
        runtime.fhir_service(uow, author="test").update(resource_type, resource["id"], resource)


def _respond(runtime, response_id: str) -> None:
    _write(runtime, "ClaimResponse", claim_response(response_id, "c1"))


def _notified(runtime) -> list[str]:
    return sorted(d["resource"].split("/")[1] for d in list_deliveries(runtime.store))


def test_a_write_searches_no_subscriptions_until_one_changes(fhir, shared, runtime, worker, receiver):
    fhir.create(subscription(receiver.url))  # watches ClaimResponse, not Claim
    _write(runtime, "Claim", claim("c0", "x"))  # the first write after the change loads the copy
    with _statements(runtime) as seen:
        _write(runtime, "Claim", claim("c1", "x"))
        _respond(runtime, "r1")
    assert _subscription_searches(seen) == []
    assert sum("webhook_subscription_epoch" in statement for statement, _ in seen) == 2  # one PK read per write
    assert _notified(runtime) == ["r1"]

    fhir.create(subscription(receiver.url, criteria="Claim"))
    with _statements(runtime) as seen:
        _write(runtime, "Claim", claim("c2", "x"))
    assert len(_subscription_searches(seen)) == 1  # reloaded once, by the first write after the change
    assert _notified(runtime) == ["c2", "r1"]


def test_a_subscription_written_by_another_process_counts_from_the_next_write(shared, runtime, worker, receiver,
                                                                               elsewhere):
    _write(runtime, "Claim", claim("c1", "x"))
    _respond(runtime, "r0")  # loads this process's copy: no Subscriptions
    sub = subscription(receiver.url, id="s1")
    _write(elsewhere, "Subscription", sub)
    _respond(runtime, "r1")
    assert _notified(runtime) == ["r1"]

    _write(elsewhere, "Subscription", {**subscription(receiver.url, id="s1"), "status": "off"})
    _respond(runtime, "r2")
    _write(elsewhere, "Subscription", subscription(receiver.url, id="s1"))
    _respond(runtime, "r3")
    with elsewhere.store.unit_of_work(SYSTEM) as uow:
        elsewhere.fhir_service(uow, author="test").delete("Subscription", "s1")
    _respond(runtime, "r4")
    assert _notified(runtime) == ["r1", "r3"]


def test_a_rolled_back_subscription_is_never_honoured(shared, runtime, worker, receiver, elsewhere):
    _write(runtime, "Claim", claim("c1", "x"))
    _respond(runtime, "r0")

    class Refused(Exception):
        pass

    with pytest.raises(Refused), elsewhere.store.unit_of_work(SYSTEM) as uow:
        service = elsewhere.fhir_service(uow, author="test")
        service.update("Subscription", "s1", subscription(receiver.url, id="s1"))
        service.update("ClaimResponse", "r1", claim_response("r1", "c1"))  # its copy held s1 in this transaction
        raise Refused
    _respond(elsewhere, "r2")  # the copy loaded inside the rolled-back transaction is not taken for current
    _respond(runtime, "r3")
    assert _notified(runtime) == []


def test_a_unit_of_work_reads_the_token_once_and_again_after_it_writes_a_subscription(shared, runtime, worker,
                                                                                      receiver):
    """Issue 17: a SIMRS transaction of twenty entries reads the token once, not twenty times; a Subscription
    written in the same transaction counts for the writes after it there."""
    _write(runtime, "Claim", claim("c0", "x"))  # loads this process's copy: no Subscriptions
    with _statements(runtime) as seen, runtime.store.unit_of_work(SYSTEM) as uow:
        service = runtime.fhir_service(uow, author="test")
        service.update("Claim", "c1", claim("c1", "x"))
        service.update("ClaimResponse", "r1", claim_response("r1", "c1"))
        service.update("Subscription", "s1", subscription(receiver.url, id="s1"))  # watches ClaimResponse
        service.update("ClaimResponse", "r2", claim_response("r2", "c1"))
        service.update("ClaimResponse", "r3", claim_response("r3", "c1"))
    # a read of the token (on PostgreSQL it may be the final query of a WITH that writes rows held back before it)
    token_reads = [s for s, _ in seen if "SELECT webhook_subscription_epoch.token" in " ".join(s.split())]
    assert len(token_reads) == 2  # at the first write, and once after the Subscription's
    assert _notified(runtime) == ["r2", "r3"]
