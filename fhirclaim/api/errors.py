"""Every error becomes an OperationOutcome here: FHIR errors, HTTP errors of the framework (unknown route,
wrong method, oversized body) and, as a last resort, unexpected exceptions — logged with the request id,
answered without a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from fhirclaim.api import access_log
from fhirclaim.api.auth import audit_forbidden
from fhirclaim.api.http import error_response
from fhirclaim.fhir.outcome import FhirError

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}


def register(app: Flask) -> None:
    app.register_error_handler(FhirError, _fhir_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _fhir_error(error: FhirError) -> Response:
    if error.status == 403:
        audit_forbidden(error)
    return error_response(error)


def _too_large(error: RequestEntityTooLarge) -> Response:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return error_response(FhirError.of(413, "too-long", f"The request body is larger than the limit of {limit} bytes"))


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    text = error.description or error.name
    return error_response(FhirError.of(status, _HTTP_CODES.get(status, "processing"), f"{error.name}: {text}"))


def _unexpected(error: Exception) -> Response:
    return unexpected(request.environ)


def unexpected(environ: dict[str, Any]) -> Response:
    """The 500 of the exception being handled, logged with the request id (Flask's error handler's, and the lean
    create's for an error at or after its commit, `api.lean_create`)."""
    request_id = access_log.request_id(environ)
    log.exception("unexpected error", extra={"request_id": request_id})
    return error_response(FhirError.of(500, "exception",
                                       f"The server failed to process the request (request id {request_id})"))
