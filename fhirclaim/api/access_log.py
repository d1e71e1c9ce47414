"""Each request's id and its access-log line: the app's outermost WSGI layer.

The id is the caller's X-Request-ID, or a new one; the response echoes it, the access log and the log of an
unexpected error carry it. The access log is one JSON line per request (`logging_setup`): request id, method,
path, status and ms.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("fhirclaim.access")

REQUEST_ID = "fhirclaim.request_id"  # the WSGI environ key of this request's id


def request_id(environ: dict[str, Any]) -> str:
    """This request's id (`RequestLog` sets it before the app sees the request)."""
    return environ.get(REQUEST_ID, "-")


class RequestLog:
    """The app's WSGI wrapper: each request gets an id — the caller's X-Request-ID, or a new one — echoed in the
    response's X-Request-ID, and one access-log line (request id, method, path, status, ms) once the app has
    answered. It works on the WSGI environ and header list themselves, not through Flask's request hooks and
    `request`/`g` proxies, which cost a read ~0.1 ms (issue 17)."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID] = environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
        status = "500"  # what the client gets if the app raises past its own error handlers

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            nonlocal status
            status = status_line
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            if log.isEnabledFor(logging.INFO):
                # PATH_INFO is the path's UTF-8 bytes as latin-1 (PEP 3333): decoded as Flask's request.path is
                path = "/" + environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace").lstrip("/")
                log.info("request", extra={"request_id": request_id, "method": environ.get("REQUEST_METHOD"),
                                           "path": path, "status": int(status[:3]),
                                           "ms": round((time.perf_counter() - started) * 1000, 1)})
