"""How request bytes reach an E-Klaim ws.php and answer bytes come back.

A transport moves bytes only: encryption, JSON and error semantics live in the client, so that the HTTP transport
and the in-process one (the emulator's WSGI app called directly, no socket) run the very same protocol path.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from wsgiref.util import setup_testing_defaults

import requests

from fhirclaim.eklaim.errors import EKlaimTransportError

WS_PATH = "/E-Klaim/ws.php"
CONTENT_TYPE = "application/x-www-form-urlencoded"  # what the manual's PHP client sends; the body is not a form

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Transport(Protocol):
    """POST `body` to ws.php (with `?mode=debug` when `debug`) and return the answer body."""

    def post(self, body: bytes, *, debug: bool = False) -> bytes: ...


class HttpTransport:
    """ws.php over HTTP with `requests`; one keep-alive session per transport.

    `url` is the full ws.php address, e.g. `http://10.0.0.5/E-Klaim/ws.php`. `timeout` (seconds) bounds the
    connection and each read.
    """

    def __init__(self, url: str, timeout: float = 30.0, session: requests.Session | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._session = session or requests.Session()

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        params = {"mode": "debug"} if debug else None
        try:
            answer = self._session.post(self.url, data=body, params=params, timeout=self.timeout,
                                        headers={"Content-Type": CONTENT_TYPE})
        except requests.Timeout as exc:
            raise EKlaimTransportError(f"E-Klaim did not answer within {self.timeout} s", retryable=True) from exc
        except requests.ConnectionError as exc:
            raise EKlaimTransportError("cannot connect to E-Klaim", retryable=True) from exc
        except requests.RequestException as exc:
            raise EKlaimTransportError(f"E-Klaim request failed: {type(exc).__name__}") from exc
        if answer.status_code != 200:
            raise EKlaimTransportError(f"E-Klaim answered HTTP {answer.status_code}",
                                       retryable=answer.status_code >= 500, status=answer.status_code)
        return answer.content

    def close(self) -> None:
        self._session.close()


class InProcessTransport:
    """Calls a ws.php WSGI app (normally the emulator) in this process, with exactly the bytes HTTP would carry."""

    def __init__(self, wsgi_app: WsgiApp, path: str = WS_PATH) -> None:
        self.app = wsgi_app
        self.path = path

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": self.path,
            "QUERY_STRING": "mode=debug" if debug else "",
            "CONTENT_TYPE": CONTENT_TYPE,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
        }
        setup_testing_defaults(environ)
        status_holder: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            status_holder.append(status)

        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code = int(status_holder[-1].split(" ", 1)[0]) if status_holder else 500
        if code != 200:
            raise EKlaimTransportError(f"E-Klaim answered HTTP {code}", retryable=code >= 500, status=code)
        return content
