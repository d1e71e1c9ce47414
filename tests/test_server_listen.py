"""`fhirclaim serve`'s waitress: it hands the proxy headers to the app, which alone decides whom to believe
(FHIRCLAIM_TRUSTED_PROXIES, auth/addresses.py): waitress 3 would drop them, so that behind a reverse proxy every
caller had the proxy's address (one token-lockout bucket for all) whatever the setting said. Its idle handler
threads are woken latest idle first (`LatestIdleFirst`, issue 17)."""

from __future__ import annotations

import socket
import threading

import pytest
import requests
from waitress import wasyncore

from fhirclaim.config import Settings
from fhirclaim.server import THREADS, LatestIdleFirst, _listen
from fhirclaim.startup import StartupError


def test_the_served_app_sees_x_forwarded_for(tmp_path):
    def echo(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((environ.get("HTTP_X_FORWARDED_FOR"), environ.get("REMOTE_ADDR"))).encode()]

    server = _listen(echo, Settings(data_dir=tmp_path, host="127.0.0.1", port=0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        answer = requests.get(f"http://127.0.0.1:{server.effective_port}/", timeout=10,
                              headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.text == repr(("203.0.113.9", "127.0.0.1"))
    finally:  # closed in waitress's own loop, which then ends (as the live_server fixture does)
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
    assert not thread.is_alive()


def _waiting_in_turn(condition_type, names):
    """Threads that wait on a `condition_type` one after another, in `names`' order (each waiting before the next
    starts); then each `notify()`, one at a time. Answers the order they woke in."""
    lock = threading.Lock()
    condition, changed = condition_type(lock), threading.Condition(lock)
    waiting, woken, threads = [], [], []

    def wait(name):
        with lock:
            waiting.append(name)
            changed.notify_all()
            condition.wait()
            woken.append(name)
            changed.notify_all()

    for name in names:
        threads.append(threading.Thread(target=wait, args=(name,), daemon=True))
        threads[-1].start()
        with lock:  # it appended under the lock, then wait() let it go: it is waiting
            assert changed.wait_for(lambda: len(waiting) == len(threads), timeout=10)
    for count in range(1, len(names) + 1):
        with lock:
            condition.notify()
            assert changed.wait_for(lambda count=count: len(woken) == count, timeout=10)
    for thread in threads:
        thread.join(timeout=10)
    return woken


def test_a_notify_wakes_the_thread_that_waited_last_and_the_others_keep_their_order():
    assert _waiting_in_turn(threading.Condition, ["a", "b", "c", "d"]) == ["a", "b", "c", "d"]  # Python's own
    assert _waiting_in_turn(LatestIdleFirst, ["a", "b", "c", "d"]) == ["d", "c", "b", "a"]


def test_notify_all_still_wakes_every_waiting_thread():
    lock = threading.Lock()
    condition, woken = LatestIdleFirst(lock), []
    released = threading.Event()

    def wait(name):
        with lock:
            while not released.is_set():
                condition.wait()
            woken.append(name)

    threads = [threading.Thread(target=wait, args=(name,), daemon=True) for name in "abc"]
    for thread in threads:
        thread.start()
    with lock:
        released.set()
        condition.notify_all()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(woken) == ["a", "b", "c"]


def test_the_served_apps_handler_threads_wait_latest_idle_first(tmp_path):
    server = _listen(lambda environ, start_response: [], Settings(data_dir=tmp_path, host="127.0.0.1", port=0))
    try:
        dispatcher = server.task_dispatcher
        assert isinstance(dispatcher.queue_cv, LatestIdleFirst)
        assert len(dispatcher.threads) == THREADS
    finally:
        server.close()
        server.task_dispatcher.shutdown()


def test_a_port_taken_after_the_check_is_one_clear_error_and_leaves_no_handler_threads(tmp_path):
    before = {t for t in threading.enumerate() if t.name.startswith("waitress-")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=str(port)):
            _listen(lambda environ, start_response: [], Settings(data_dir=tmp_path, host="127.0.0.1", port=port))
    started = [t for t in threading.enumerate() if t.name.startswith("waitress-") and t not in before]
    for thread in started:  # told to stop, they end at once; left running, they would wait for tasks forever
        thread.join(timeout=2)
    assert not [thread for thread in started if thread.is_alive()]
