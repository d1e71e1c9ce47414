"""The Flask app factory. `create_app()` is also the WSGI entry point for gunicorn:

    gunicorn 'fhirclaim.app:create_app()'
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, request

from fhirclaim.api import admin_routes, auth, discovery, errors, fhir_rest, operations, surface
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.webapp import views as webapp_views

log = logging.getLogger("fhirclaim.access")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """The app on a given Runtime (the caller owns its threads), or on its own Runtime — the gunicorn case — which
    then also runs the pipeline, webhook and simulator threads unless `run_worker` is off."""
    settings = settings or (runtime.settings if runtime else Settings())
    if runtime is None:
        runtime = Runtime(settings)
        if settings.run_worker:
            runtime.start_workers()
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
    app.before_request(_start_request)
    app.after_request(_finish_request)
    return app


def _start_request() -> None:
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info("request", extra={"request_id": g.get("request_id"), "method": request.method, "path": request.path,
                               "status": response.status_code, "ms": round(elapsed, 1)})
    return response
