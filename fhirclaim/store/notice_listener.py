"""Other processes' commit notices, on PostgreSQL: LISTEN for what their commits queued (issue 17).

A commit that queued a claim job or a webhook notification wakes this process's waiting workers at once
(`commit_notices.py`). A `fhirclaim worker` beside `fhirclaim serve`, or several `serve` processes, would otherwise
learn of each other's jobs only at their next poll (`worker_poll_seconds`, 0.5 s): half a second more on a claim's
way to the signed Bundle, when the workers are idle. On PostgreSQL, triggers send a NOTIFY on the topic's channel
(`commit_notices.CHANNELS`) for every statement that inserts such a row (migration 0023); PostgreSQL delivers it
when, and only if, that transaction commits, and once per channel per transaction. `NoticeListener` holds a
connection of its own, outside the pool, that LISTENs on those channels, and hands each notice to the callbacks
`Store.on_commit` registered for the topic, as this process's own commits do.

The polls stay: they find the jobs due later (a retry's backoff) and cover the time the connection is lost. A lost
connection is made again after the server's one backoff (`backoff.py`); on every (re)connection each topic is
announced once, since something may have been queued while nobody listened. SQLite has no NOTIFY: there the
processes tell each other by datagram (`socket_notices.py`).
"""

from __future__ import annotations

import logging
import threading

from psycopg import sql

from fhirclaim.backoff import Backoff
from fhirclaim.store.commit_notices import CHANNELS, Announce
from fhirclaim.store.db import Database
from fhirclaim.store.socket_notices import SocketNoticeListener

log = logging.getLogger(__name__)

RECONNECT = Backoff(initial=1.0, maximum=30.0)
_WAKE_CHECK_SECONDS = 1.0  # how long one wait for notices lasts before the thread looks whether it should stop


class NoticeListener:
    """A thread that LISTENs on `commit_notices.CHANNELS` and calls `announce(topic)` for each notice."""

    def __init__(self, database: Database, announce: Announce, *, reconnect: Backoff = RECONNECT) -> None:
        if database.is_sqlite:
            raise ValueError("SQLite has no NOTIFY: nothing to listen to")
        self._database = database
        self._announce = announce
        self._reconnect = reconnect
        self._topics = {channel: topic for topic, channel in CHANNELS.items()}
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while the connection LISTENs (tests wait for it)
        self._thread: threading.Thread | None = None
        self._listened = False

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fhirclaim-notice-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_WAKE_CHECK_SECONDS * 5)
            self._thread = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._listened = False
            try:
                self._listen()
                return
            except Exception as error:  # noqa: BLE001 — the connection broke: the polls cover it until it is back
                failures = 1 if self._listened else failures + 1  # a connection that worked starts the count again
                wait = self._reconnect.delay(failures)
                log.warning("listening for other processes' queued work failed (%s); trying again in %.0f s",
                            error, wait)
                self._stop.wait(wait)

    def _listen(self) -> None:
        driver = self._database.connection_of_its_own()
        try:
            driver.autocommit = True
            for channel in self._topics:
                driver.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            for topic in CHANNELS:  # whatever was queued while nobody listened
                self._announce(topic)
            self._listened = True
            self.listening.set()
            while not self._stop.is_set():
                for notice in driver.notifies(timeout=_WAKE_CHECK_SECONDS):
                    topic = self._topics.get(notice.channel)
                    if topic is not None:
                        self._announce(topic)
                    if self._stop.is_set():
                        break
        finally:
            self.listening.clear()
            driver.close()


def listener_for(database: Database, announce: Announce) -> NoticeListener | SocketNoticeListener | None:
    """What brings this process the topics of other processes' commits on `database`: PostgreSQL's NOTIFY, SQLite's
    datagrams (`socket_notices.py`); None for a SQLite database with no file to meet beside (in memory)."""
    if not database.is_sqlite:
        return NoticeListener(database, announce)
    return SocketNoticeListener(database.notices, announce) if database.notices is not None else None
