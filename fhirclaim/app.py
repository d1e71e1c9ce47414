"""The Flask app factory. `create_app()` is also the WSGI entry point of a production server, as the image runs it
(docker/entrypoint.sh):

    granian --interface wsgi --factory --workers 4 --blocking-threads 8 fhirclaim.app:create_app

or any other WSGI server: `gunicorn --workers 4 --threads 8 'fhirclaim.app:create_app()'`.
"""

from __future__ import annotations

from multiprocessing.util import Finalize

from flask import Flask
from flask.sessions import SessionInterface

from fhirclaim.api import admin_routes, auth, discovery, errors, fhir_rest, operations, surface
from fhirclaim.api.access_log import RequestLog
from fhirclaim.api.forwarded_proto import ForwardedProto
from fhirclaim.api.lean import Lean
from fhirclaim.auth.addresses import parse_networks
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.webapp import views as webapp_views


def create_app(settings: Settings | None = None, runtime: Runtime | None = None, *, lean_paths: bool = True) -> Flask:
    """The app on a given Runtime (the caller owns its threads), or on its own Runtime — in a production server's
    worker — which then also runs the pipeline, webhook and simulator threads unless `run_worker` is off, and is
    closed as that process ends (the jobs in hand finished, the security log's counts written), as `fhirclaim serve`
    closes its own: no server tells a WSGI app it stops, so the close runs among multiprocessing's exit finalizers,
    which a granian worker runs as its process ends (tests/test_production_server.py). A gunicorn worker ends
    without running them: there a stopped worker's job waits for its lease, and the refusals counted since the
    security log's last write are lost.
    `lean_paths`: a plain read or create is answered before Flask (`api.lean`); off, Flask answers it as every other
    request (the tests compare the two)."""
    settings = settings or (runtime.settings if runtime else Settings())
    if runtime is None:
        runtime = Runtime(settings)
        if settings.run_worker:
            runtime.start_workers()
        Finalize(None, runtime.close, exitpriority=10)
    app = Flask(__name__)
    app.config["FHIRCLAIM_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["fhirclaim"] = runtime
    errors.register(app)
    auth.register(app)
    app.register_blueprint(discovery.blueprint)  # public: landing page, OpenAPI, Swagger UI, OperationDefinitions
    app.register_blueprint(operations.blueprint, url_prefix=surface.FHIR_BASE)
    app.register_blueprint(fhir_rest.blueprint, url_prefix=surface.FHIR_BASE)
    app.register_blueprint(admin_routes.blueprint, url_prefix="/admin")
    webapp_views.register(app)  # the claim unit's web app at /app/ (users sign in; no bearer token)
    app.session_interface = CookiePathSessions(app.session_interface, app.config["SESSION_COOKIE_PATH"])
    if lean_paths:
        app.wsgi_app = Lean(app)  # a plain read's or create's answer without Flask's request machinery, or Flask's
    trusted = parse_networks(settings.trusted_proxies)
    if trusted:  # the scheme a trusted TLS proxy was called with, for the URLs every path builds
        app.wsgi_app = ForwardedProto(app.wsgi_app, trusted)
    app.wsgi_app = RequestLog(app.wsgi_app)  # the outermost layer: the test client goes through it too
    return app


class CookiePathSessions(SessionInterface):
    """The web app's signed-cookie session, opened only under its cookie's path (/app), the one place a browser
    sends that cookie: a FHIR request gets Flask's null session instead of a signing serializer built and its
    cookies parsed for nothing (issue 17)."""

    def __init__(self, inner: SessionInterface, path: str):
        self.inner, self.path = inner, path.rstrip("/")

    def open_session(self, app, request):
        if request.path != self.path and not request.path.startswith(self.path + "/"):
            return None  # Flask's null session: empty, and an attempt to write it fails loudly
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response) -> None:
        self.inner.save_session(app, session, response)
