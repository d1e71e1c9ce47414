"""Other processes' commit notices on SQLite: a datagram to every process that listens (issue 17).

PostgreSQL tells the other processes what a commit queued by NOTIFY (`notice_listener.py`). SQLite has nothing of
the kind, so a `fhirclaim worker` beside the server found the server's claim jobs only at its next poll
(`worker_poll_seconds`, 0.5 s). Here the processes meet in a directory beside the database file
(`<database>-notices/`, this user's alone):

- a process that runs workers binds a Unix datagram socket there (`NoticeBoard.listen`), and `SocketNoticeListener`
  hands each topic it receives to the callbacks `Store.on_commit` registered for it, as this process's own commits
  do;
- a commit that noticed a topic (`commit_notices.py`) sends the topic's name to every other socket there
  (`NoticeBoard.tell`, from `Store.unit_of_work` once the commit is done): never for a rolled-back unit of work.

Sending never blocks a commit: a socket whose queue is full already holds notices its process has not read (it will
wake), and a socket left by a process that ended without removing it (killed) refuses the datagram and is removed.
The polls stay: they find the jobs due later and whatever a lost datagram (none on one machine, but nothing
promises it) would have announced. A listener announces every topic once as it starts, for what was queued before.
A directory that cannot be made, or a path too long for a Unix socket (108 bytes), leaves that process to its
polls, with a warning.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

from fhirclaim.startup import PRIVATE_FILE, create_private_directory
from fhirclaim.store.commit_notices import CHANNELS, Announce

log = logging.getLogger(__name__)

_WAKE_CHECK_SECONDS = 1.0  # how long one wait for a notice lasts before the thread looks whether it should stop
_TOPICS = {topic.encode(): topic for topic in CHANNELS}  # what a datagram may say: a topic's name


class NoticeBoard:
    """The sockets of the processes that listen for commit notices on one SQLite database."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._own: set[str] = set()  # the names of this board's listening sockets (never told)
        self._sender: socket.socket | None = None  # made at the first datagram: most processes never send one
        self._making = threading.Lock()

    def _sending_socket(self) -> socket.socket:
        with self._making:
            if self._sender is None:
                sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sender.setblocking(False)  # a full queue is an error, never a wait
                self._sender = sender
            return self._sender

    def tell(self, topics: Iterable[str]) -> None:
        """Send each topic to every other listening socket: quick, and never raising (the commit is done)."""
        messages = [topic.encode() for topic in topics]
        if not messages:
            return
        try:
            entries = [entry.name for entry in os.scandir(self.directory) if entry.name not in self._own]
        except OSError:  # no directory: nobody listens
            return
        if not entries:
            return
        try:
            sender = self._sending_socket()
        except OSError as error:  # no socket to send from (out of descriptors): the polls will find the work
            log.warning("commit notices to other processes not sent: %s", error)
            return
        for name in entries:
            path = str(self.directory / name)
            try:
                for message in messages:
                    sender.sendto(message, path)
            except (ConnectionRefusedError, FileNotFoundError):  # its process ended without removing it
                _remove(path)
            except OSError as error:  # its queue is full (it has notices to read), or not a socket: nothing to do
                log.debug("a commit notice to %s was not sent: %s", path, error)

    def listen(self) -> socket.socket | None:
        """A socket of this process's own in the directory, receiving what other processes' commits tell; None
        (with a warning) where none can be made."""
        name = f"{os.getpid()}-{secrets.token_hex(3)}"
        path = self.directory / name
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            create_private_directory(self.directory)
            receiver.bind(str(path))
            os.chmod(path, PRIVATE_FILE)
        except OSError as error:
            receiver.close()
            log.warning("other processes' queued work reaches this one at its poll only: no socket at %s (%s)",
                        path, error.strerror or error)
            return None
        receiver.settimeout(_WAKE_CHECK_SECONDS)
        self._own.add(name)
        return receiver

    def wake(self, receiver: socket.socket) -> None:
        """An empty datagram to a socket `listen` made: its reader returns from its wait."""
        try:
            self._sending_socket().sendto(b"", receiver.getsockname())
        except OSError:
            pass

    def leave(self, receiver: socket.socket) -> None:
        """Close a socket `listen` made and remove its name."""
        path = receiver.getsockname()
        receiver.close()
        self._own.discard(Path(path).name)
        _remove(path)

    def close(self) -> None:
        with self._making:
            if self._sender is not None:
                self._sender.close()
                self._sender = None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already, or not ours to remove: nothing to do
        pass


class SocketNoticeListener:
    """A thread that receives the topics other processes' commits tell this process's socket, and calls
    `announce(topic)` for each; it announces every topic once as it starts."""

    def __init__(self, board: NoticeBoard, announce: Announce) -> None:
        self._board = board
        self._announce = announce
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while its socket receives (tests wait for it)
        self._receiver: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._receiver = self._board.listen()
        if self._receiver is not None:
            self.listening.set()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, args=(self._receiver,),
                                            name="fhirclaim-socket-notices", daemon=True)
            self._thread.start()
        for topic in CHANNELS:  # whatever was queued before this process listened (its socket now receives)
            self._announce(topic)

    def stop(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._board.wake(self._receiver)  # out of its wait now, not at its next look
        if self._thread is not None:
            self._thread.join(timeout=_WAKE_CHECK_SECONDS * 5)
            self._thread = None
        if self._receiver is not None:
            self.listening.clear()
            self._board.leave(self._receiver)
            self._receiver = None

    def _run(self, receiver: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                message = receiver.recv(64)
            except TimeoutError:
                continue
            except OSError:  # closed under it: stopping
                return
            topic = _TOPICS.get(message)
            if topic is not None:
                self._announce(topic)
