"""One POST of a notification and its outcome, never an exception.

Nothing of the answer is read but the status line (a receiver cannot make the worker download a large body),
redirects are not followed (a signed body goes only where the subscriber said), and the environment's proxy and
.netrc settings are ignored (.netrc credentials would otherwise be sent to whatever host the endpoint names).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

import fhirclaim

USER_AGENT = f"fhirclaim-webhooks/{fhirclaim.__version__}"
_MAX_ERROR = 500


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS failure...)
    error: str | None  # why it is not a success; None for a 2xx
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def post(session: requests.Session, endpoint: str, body: bytes, headers: dict[str, str],
         timeout: float) -> Outcome:
    started = time.monotonic()
    try:
        response = session.post(endpoint, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                                stream=True)
        response.close()
    except requests.RequestException as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:_MAX_ERROR], _elapsed(started))
    status = response.status_code
    problem = None if 200 <= status < 300 else f"HTTP {status} {response.reason or ''}".strip()[:_MAX_ERROR]
    return Outcome(status, problem, _elapsed(started))


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
