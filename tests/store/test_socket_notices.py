"""SQLite's commit notices between processes (`store/socket_notices.py`): a datagram to each listening process's
socket, beside the database. What every backend does (one notice per transaction, none for a rolled-back one) is in
test_notice_listener.py; here: a process is not told its own commits, a socket its process left behind is removed,
the sockets are private, and a process without a socket keeps its polls. A second `Database` on the same file stands
for the other process (its board is its own, as another process's would be)."""

from __future__ import annotations

import logging
import os
import queue
import socket
import stat

import pytest

from fhirclaim.store import commit_notices
from fhirclaim.store.socket_notices import NoticeBoard, SocketNoticeListener

from testkit import drained, queued_delivery

WAIT = 60  # seconds: a bound on waiting for a condition, never a pause


@pytest.fixture
def sqlite_runtime(runtime):
    if not runtime.database.is_sqlite:
        pytest.skip("PostgreSQL tells other processes by NOTIFY (test_notice_listener.py)")
    return runtime


@pytest.fixture
def heard(sqlite_runtime):
    """The topics a listener on the runtime's database received, once its start's are taken off."""
    topics: queue.Queue = queue.Queue()
    listener = SocketNoticeListener(sqlite_runtime.database.notices, topics.put)
    listener.start()
    drained(topics)
    yield topics
    listener.stop()


def test_a_process_does_not_tell_itself_by_datagram(sqlite_runtime, other, heard):
    """This process's own commit wakes its workers directly (`Store.announce`), not through its socket; the other
    process's comes by datagram."""
    announced: list[str] = []
    sqlite_runtime.store.on_commit(commit_notices.CLAIM_JOB_QUEUED, lambda: announced.append("directly"))
    with sqlite_runtime.store.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
    assert announced == ["directly"]
    with other.unit_of_work() as uow:  # its notice is the first the socket receives: none came from our own commit
        uow.webhook_deliveries.add(queued_delivery(3))
    assert heard.get(timeout=WAIT) == commit_notices.WEBHOOK_QUEUED


def test_the_socket_a_dead_process_left_behind_is_removed_when_told(sqlite_runtime, other):
    directory = sqlite_runtime.database.notices.directory
    directory.mkdir(mode=0o700, exist_ok=True)
    left = directory / "4242-dead01"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(left))
    dead.close()  # its process ended without removing it: a datagram to it is refused
    with other.unit_of_work() as uow:
        uow.jobs.enqueue("c-1", 1, "10000004", "submit")
    assert not left.exists()


def test_a_listeners_socket_is_private_and_gone_when_it_stops(sqlite_runtime):
    board = sqlite_runtime.database.notices
    listener = SocketNoticeListener(board, lambda _topic: None)
    listener.start()
    [path] = list(board.directory.iterdir())
    assert stat.S_IMODE(os.stat(board.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    listener.stop()
    assert not listener.listening.is_set()
    assert list(board.directory.iterdir()) == []


def test_without_a_socket_the_workers_keep_their_polls(tmp_path, caplog):
    """A directory that cannot be made (or a path too long for a Unix socket): no socket, a warning, and every
    topic announced once all the same (the polls find what comes later)."""
    blocker = tmp_path / "a file"
    blocker.write_text("")
    announced: list[str] = []
    board = NoticeBoard(blocker / "fhirclaim.db-notices")
    listener = SocketNoticeListener(board, announced.append)
    with caplog.at_level(logging.WARNING):
        listener.start()
    assert not listener.listening.is_set()
    assert sorted(announced) == sorted(commit_notices.CHANNELS)
    assert "at its poll only" in caplog.text
    listener.stop()
    board.tell([commit_notices.CLAIM_JOB_QUEUED])  # nobody listens: nothing to do, nothing raised
    board.close()


def test_a_commit_is_never_held_by_a_process_that_does_not_read(sqlite_runtime, other):
    """A socket nobody reads fills up; telling it more is skipped, never waited for and never raised after the commit
    (its process has notices to read already). With a blocking send the commits below would hang at the queue's
    bound (`net.unix.max_dgram_qlen`, a few hundred datagrams)."""
    directory = sqlite_runtime.database.notices.directory
    directory.mkdir(mode=0o700, exist_ok=True)
    asleep = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    asleep.bind(str(directory / "4242-asleep"))
    try:
        for n in range(20):
            with other.unit_of_work() as uow:
                uow.jobs.enqueue(f"c-{n}", 1, "10000004", "submit")
        for _ in range(2000):
            other.database.notices.tell([commit_notices.CLAIM_JOB_QUEUED])
        assert asleep.recv(64) == commit_notices.CLAIM_JOB_QUEUED.encode()  # what fitted was delivered
    finally:
        asleep.close()
    with other.unit_of_work() as uow:
        assert uow.jobs.get(1) is not None  # the commits all went through
