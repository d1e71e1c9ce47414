"""`fhirclaim serve`'s waitress hands the proxy headers to the app, which alone decides whom to believe
(FHIRCLAIM_TRUSTED_PROXIES, auth/addresses.py): waitress 3 would drop them, so that behind a reverse proxy every
caller had the proxy's address (one token-lockout bucket for all) whatever the setting said."""

from __future__ import annotations

import requests


def test_the_served_app_sees_x_forwarded_for(serve_wsgi):
    def echo(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((environ.get("HTTP_X_FORWARDED_FOR"), environ.get("REMOTE_ADDR"))).encode()]

    server = serve_wsgi(echo)  # `server._listen`, as `fhirclaim serve` listens
    answer = requests.get(f"http://127.0.0.1:{server.effective_port}/", timeout=10,
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.text == repr(("203.0.113.9", "127.0.0.1"))
