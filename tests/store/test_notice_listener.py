"""Another process's commit that queued work reaches this one on PostgreSQL (`store/notice_listener.py`, migration
0023): its triggers NOTIFY, the listener LISTENs on a connection of its own and announces the topic. A second
`Database` on the same database stands for the other process: it shares nothing with the listener's but the server.
Nothing is announced for a rolled-back insert; a lost connection is made again and announces every topic once. On
SQLite nothing listens."""

from __future__ import annotations

import queue
from datetime import datetime

import pytest
from migrationkit import downgrade
from sqlalchemy import text

from fhirclaim.backoff import Backoff
from fhirclaim.store import commit_notices
from fhirclaim.store.db import Database
from fhirclaim.store.notice_listener import NoticeListener
from fhirclaim.store.outbox import DeliveryRow
from fhirclaim.store.unit_of_work import Store

WAIT = 60  # seconds: a bound on waiting for a condition, never a pause


@pytest.fixture
def other(database_url, runtime):
    """The other process's store: its own engine on the runtime's (migrated) database."""
    database = Database(database_url)
    yield Store(database)
    database.dispose()


@pytest.fixture
def heard(runtime) -> queue.Queue:
    """The topics a listener on the runtime's database announced, in order; it listens when the test begins (the
    topics it announces on connecting are taken off)."""
    if runtime.database.is_sqlite:
        pytest.skip("SQLite has no NOTIFY")
    topics: queue.Queue = queue.Queue()
    listener = NoticeListener(runtime.database, topics.put, reconnect=Backoff(initial=0.01, maximum=0.01))
    listener.start()
    assert listener.listening.wait(WAIT)
    assert sorted(_drain(topics)) == sorted(commit_notices.CHANNELS)  # on connecting: every topic once
    yield topics
    listener.stop()


def _drain(topics: queue.Queue) -> list[str]:
    found = []
    while not topics.empty():
        found.append(topics.get_nowait())
    return found


def _delivery(n: int) -> DeliveryRow:
    now = datetime(2026, 12, 5, 12, 0)
    return DeliveryRow(transaction_id=f"t-{n}", subscription_id="s-1", tenant="10000004", resource_type="Claim",
                       resource_id=f"c-{n}", version_id=1, method="PUT", body=b"{}", status="pending", attempts=0,
                       replays=0, created_at=now, next_attempt_at=now)


def test_a_job_another_process_queued_is_announced_once_per_transaction(other, heard):
    with other.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        uow.jobs.enqueue("c-2", 1, "10000004", "submit")
    assert heard.get(timeout=WAIT) == commit_notices.CLAIM_JOB_QUEUED
    with other.unit_of_work() as uow:
        uow.webhook_deliveries.add(_delivery(1))
    assert heard.get(timeout=WAIT) == commit_notices.WEBHOOK_QUEUED  # not a second claim job notice: one per commit
    assert heard.empty()


def test_a_rolled_back_insert_is_not_announced(other, heard):
    with pytest.raises(RuntimeError), other.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        raise RuntimeError("the write failed")
    with other.unit_of_work() as uow:  # a later commit: its notice comes first, so the rolled-back one never came
        uow.webhook_deliveries.add(_delivery(2))
    assert heard.get(timeout=WAIT) == commit_notices.WEBHOOK_QUEUED
    assert heard.empty()


def test_a_lost_connection_is_made_again_and_announces_every_topic(runtime, other, heard):
    with runtime.database.engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
            "AND datname = current_database()")).scalars().all()
    assert ended == [True]
    again = sorted(heard.get(timeout=WAIT) for _ in commit_notices.CHANNELS)  # connected again: whatever was missed
    assert again == sorted(commit_notices.CHANNELS)
    with other.unit_of_work() as uow:
        uow.jobs.enqueue("c-3", 1, "10000004", "submit")
    assert heard.get(timeout=WAIT) == commit_notices.CLAIM_JOB_QUEUED


def test_the_migration_makes_the_triggers_and_its_downgrade_drops_them(runtime):
    if runtime.database.is_sqlite:
        pytest.skip("SQLite has no NOTIFY")
    database = runtime.database

    def triggers() -> set[str]:
        with database.engine.connect() as connection:
            return set(connection.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'fhirclaim_%'")).scalars())

    assert triggers() == set(commit_notices.CHANNELS.values())  # the channels the listener listens on
    downgrade(database, "0022")
    assert triggers() == set()
    database.migrate()
    assert triggers() == set(commit_notices.CHANNELS.values())


def test_sqlite_has_no_listener(runtime):
    if not runtime.database.is_sqlite:
        pytest.skip("PostgreSQL listens")
    with pytest.raises(ValueError, match="no NOTIFY"):
        NoticeListener(runtime.database, print)
