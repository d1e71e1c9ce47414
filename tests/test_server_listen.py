"""`fhirclaim serve`'s waitress hands the proxy headers to the app, which alone decides whom to believe
(FHIRCLAIM_TRUSTED_PROXIES, auth/addresses.py): waitress 3 would drop them, so that behind a reverse proxy every
caller had the proxy's address (one token-lockout bucket for all) whatever the setting said."""

from __future__ import annotations

import threading

import requests
from waitress import wasyncore

from fhirclaim.config import Settings
from fhirclaim.server import _listen


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
