"""The lean read: `GET /fhir/<type>/<id>`, the request FHIR clients send most, answered without Flask's request
machinery (issue 17), one of the lean paths of `api.lean`.

Flask's share of a read (its request and app contexts, the URL adapter bound per request, the `request`/`g` proxies,
dispatch and finalizing) cost about 40 % of the app's CPU, as much as the token check, the read and the rendering
together. The lean layer answers a request that is plainly a read through the parts the Flask route runs: the app's
own URL map (it serves what routes to `fhir.read`, nothing else; asked once per type, `Lean.routes_to`), the token
parsed by `auth.bearer_token` and resolved by the clients in the read transaction, the tenant by `scope_for`, the
caller's FHIR service, the Accept check of `http.check_accept`, the answer by `http.plain_read` (the status, headers
and body `http.render` answers, without a werkzeug Response).

It also answers what the read itself finds: a token that is not live (401, with `WWW-Authenticate`, counted in the
security log as `auth._unauthorized` counts it, `Lean.unauthenticated`), a resource the caller cannot see or that no
one has (404) and a deleted one (410), each as `http.error_response` answers the FhirError in Flask
(`errors._fhir_error`, which writes nothing for these). Asked again by Flask, they would cost a second token check
and read (issue 17).

Anything else goes to Flask untouched: another method or path, a query string, a conditional header, and every
other outcome (no Bearer token, a role's refusal, a refused Accept or tenant header, an error). Flask then works the
request out from the start and answers it as it answers any request, the one place that answers and audits those;
the layer has written nothing for them, so nothing is done twice (tests/rest/test_lean_read.py sends a matrix of
requests through the app with and without it and compares the answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhirclaim.api import surface
from fhirclaim.api.auth import PARTITION_ENVIRON, bearer_token
from fhirclaim.api.http import check_accept, error_response, plain_read
from fhirclaim.auth.policy import scope_for
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import SYSTEM

if TYPE_CHECKING:
    from fhirclaim.api.lean import Lean

READ = "read"  # the route table's key of the read, whose Flask endpoint is `fhir.read`
# A request carrying one of these may not be a plain read's 200 (a conditional read): Flask answers it.
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
_ANSWERED = (404, 410)  # the read's refusals answered here: Flask writes nothing for them either (no 403's audit)


class LeanRead:
    """The lean path of a GET: a plain read's answer, or None (Flask's)."""

    def __init__(self, layer: Lean) -> None:
        self.layer, self.runtime = layer, layer.runtime
        self.endpoint = f"fhir.{READ}"
        self.roles = surface.endpoint(READ).roles

    def answer(self, environ: dict[str, Any], path: str):
        """The read's response, or None: Flask answers this request."""
        if path.count("/") != 3 or any(name in environ for name in _CONDITIONS):
            return None
        read = self.read_of(path)
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if read is None or token is None:
            return None
        runtime = self.runtime
        try:
            check_accept(environ.get("HTTP_ACCEPT", ""))
            with runtime.store.reading(SYSTEM) as uow:  # what `hold_reading` opens: the check and the read in one
                principal, why = runtime.clients.resolve(token, uow, reading=read)  # the read's row comes with it
                if principal is not None:
                    if self.roles and principal.role not in self.roles:
                        return None
                    scope = scope_for(principal, environ.get(PARTITION_ENVIRON))
                    service = runtime.fhir_service(uow.viewing(scope), author=principal.name, principal=principal)
                    return plain_read(service.read(*read))
        except FhirError as error:  # 404 and 410 as `errors._fhir_error` answers them; any other Flask answers
            return error_response(error) if error.status in _ANSWERED else None
        except Exception:  # noqa: BLE001 — an error: Flask answers it (and logs it)
            return None
        try:  # the read transaction ended first, as Flask's `release_held` ends it before `_unauthorized`
            return self.layer.unauthenticated(environ, path, why)
        except Exception:  # noqa: BLE001 — the security log failed to write: Flask answers (and counts it again)
            return None

    def read_of(self, path: str) -> tuple[str, str] | None:
        """(type, id) of `/fhir/<type>/<id>` when the app's URL map routes a GET of it to the read, else None."""
        resource_type, resource_id = path[len(surface.FHIR_PREFIX):].split("/")
        return (resource_type, resource_id) if self.layer.routes_to(path, "GET", self.endpoint) else None
