"""Fixtures of the REST tests."""

from __future__ import annotations

import io

import pytest

from fhirclaim.app import create_app


class FlaskCount:
    """What reaches Flask's own WSGI app behind the lean layer (`api.lean`): counted, with the body it reads, then
    passed on unchanged."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.paths, self.bodies = wsgi_app, [], []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        body = environ["wsgi.input"].read()
        self.bodies.append(body)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def apps(settings, runtime):
    """The app with its lean paths (`api.lean`), the same app without them, and what reaches Flask behind the
    first (the lean paths' tests compare the two apps' answers)."""
    lean = create_app(settings, runtime)
    reached = lean.wsgi_app.wsgi_app.flask_app = FlaskCount(lean.wsgi_app.wsgi_app.flask_app)
    return lean, create_app(settings, runtime, lean_paths=False), reached
