"""Another process's commit that queued work reaches this one: on PostgreSQL by NOTIFY (`store/notice_listener.py`,
migration 0023: its triggers NOTIFY, the listener LISTENs on a connection of its own and announces the topic), on
SQLite by a datagram to this process's socket (`store/socket_notices.py`, whose own cases are in
test_socket_notices.py). A second `Database` on the same database stands for the other process: it shares nothing
with the listener's but the server (or the file). Nothing is announced for a rolled-back insert; on PostgreSQL a lost
connection is made again and announces every topic once."""

from __future__ import annotations

import queue

import pytest
from migrationkit import downgrade
from sqlalchemy import text

from fhirclaim.backoff import Backoff
from fhirclaim.store import commit_notices
from fhirclaim.store.db import Database
from fhirclaim.store.notice_listener import NoticeListener, listener_for
from fhirclaim.store.socket_notices import SocketNoticeListener

from testkit import drained, queued_delivery

WAIT = 60  # seconds: a bound on waiting for a condition, never a pause


@pytest.fixture
def heard(runtime) -> queue.Queue:
    """The topics the listener of the runtime's database (PostgreSQL's or SQLite's) announced, in order; it listens
    when the test begins (the topics it announces on starting are taken off)."""
    topics: queue.Queue = queue.Queue()
    if runtime.database.is_sqlite:
        listener = SocketNoticeListener(runtime.database.notices, topics.put)
    else:
        listener = NoticeListener(runtime.database, topics.put, reconnect=Backoff(initial=0.01, maximum=0.01))
    listener.start()
    assert listener.listening.wait(WAIT)
    assert sorted(drained(topics)) == sorted(commit_notices.CHANNELS)  # on starting: every topic once
    yield topics
    listener.stop()


def test_a_job_another_process_queued_is_announced_once_per_transaction(other, heard):
    with other.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        uow.jobs.enqueue("c-2", 1, "10000004", "submit")
    assert heard.get(timeout=WAIT) == commit_notices.CLAIM_JOB_QUEUED
    with other.unit_of_work() as uow:
        uow.webhook_deliveries.add(queued_delivery(1))
    assert heard.get(timeout=WAIT) == commit_notices.WEBHOOK_QUEUED  # not a second claim job notice: one per commit
    assert heard.empty()


def test_a_rolled_back_insert_is_not_announced(other, heard):
    with pytest.raises(RuntimeError), other.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
        raise RuntimeError("the write failed")
    with other.unit_of_work() as uow:  # a later commit: its notice comes first, so the rolled-back one never came
        uow.webhook_deliveries.add(queued_delivery(2))
    assert heard.get(timeout=WAIT) == commit_notices.WEBHOOK_QUEUED
    assert heard.empty()


def test_a_lost_connection_is_made_again_and_announces_every_topic(runtime, other, heard):
    if runtime.database.is_sqlite:
        pytest.skip("SQLite's notices need no connection")
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


def test_each_database_gets_the_listener_of_its_kind(database):
    """`listener_for`, which `Runtime.start_workers` starts: NOTIFY on PostgreSQL, the socket beside a SQLite file,
    and nothing for an in-memory SQLite database, which no other process can open."""
    kind = SocketNoticeListener if database.is_sqlite else NoticeListener
    assert type(listener_for(database, lambda _topic: None)) is kind
    in_memory = Database("sqlite://")
    try:
        assert listener_for(in_memory, lambda _topic: None) is None
    finally:
        in_memory.dispose()
