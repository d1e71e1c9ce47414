"""Only the web app (/app) has a cookie session: a FHIR request opens none, so its answer never carries the web
app's cookie, whatever cookie it sent (issue 17: no signing serializer and cookie parse per API request)."""

from __future__ import annotations

from flask import request

from testkit import authorized


def _opened(app, path: str):
    with app.test_request_context(path):
        return app.session_interface.open_session(app, request)


def test_a_fhir_request_opens_no_session(app):
    client = authorized(app)
    client.client.set_cookie("fhirclaim_app", "not-a-session", path="/")
    answer = client.get("/Patient")
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert _opened(app, "/fhir/Patient") is None  # Flask then uses its null session
    assert _opened(app, "/application") is None  # only starts like the cookie's path


def test_the_web_app_still_has_its_session(app):
    opened = _opened(app, "/app/login")
    assert opened is not None and not app.session_interface.is_null_session(opened)
    assert _opened(app, "/app") is not None
