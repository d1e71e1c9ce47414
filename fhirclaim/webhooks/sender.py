"""One POST of a notification and its outcome, never an exception.

Nothing of the answer is read but the status code (a receiver cannot make the worker download a large body),
redirects are not followed (a signed body goes only where the subscriber said), and the environment's proxy and
.netrc settings are ignored (.netrc credentials would otherwise be sent to whatever host the endpoint names).
The outcome's error is one of a few fixed phrases: it ends up in `Subscription.error`, which the subscriber
reads, so it never carries the receiver's own words (reason phrase, body) nor an address or port.
"""

from __future__ import annotations

import http
import time
from dataclasses import dataclass

import requests

import fhirclaim
from fhirclaim.webhooks import egress

USER_AGENT = f"fhirclaim-webhooks/{fhirclaim.__version__}"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS failure...)
    error: str | None  # why it is not a success; None for a 2xx
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_session(policy: egress.EgressPolicy | None = None) -> requests.Session:
    """A session for notifications, every connection checked against `policy` (default: no exceptions)."""
    return egress.guarded_session(policy or egress.EgressPolicy())


def post(session: requests.Session, endpoint: str, body: bytes, headers: dict[str, str],
         timeout: float) -> Outcome:
    started = time.monotonic()
    try:
        response = session.post(endpoint, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                                stream=True)
        response.close()
    except requests.RequestException as exc:
        return Outcome(None, failure(exc), _elapsed(started))
    status = response.status_code
    return Outcome(status, None if 200 <= status < 300 else http_failure(status), _elapsed(started))


def failure(exc: requests.RequestException) -> str:
    """What went wrong, in words that name neither the address nor anything the remote side said."""
    if egress.refused_by_policy(exc):
        return egress.REFUSED
    if isinstance(exc, requests.Timeout):
        return "the endpoint did not answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake with the endpoint failed"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect to the endpoint"
    return f"the request failed ({type(exc).__name__})"


def http_failure(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "non-standard status"
    return f"HTTP {status} {phrase}"  # a redirect too: it is not followed


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
