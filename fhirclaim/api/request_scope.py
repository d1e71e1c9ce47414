"""Per-request access to the runtime: a FHIR service on a unit of work, scoped to the caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, g, request

from fhirclaim.api.http import base_url, lenient
from fhirclaim.auth.principal import Principal
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import SYSTEM, Scope


def runtime() -> Runtime:
    return current_app.extensions["fhirclaim"]


def caller_scope() -> Scope:
    return getattr(g, "scope", SYSTEM)


def caller_name() -> str | None:
    return getattr(g, "caller", None)


@contextlib.contextmanager
def fhir_service(*, write: bool, by_id: bool = False) -> Iterator[FhirService]:
    """A FHIR service whose unit of work commits when the handler's block ends without an error. `by_id`: the
    handler only reads by type and id, so neither this server's bases (for references) nor Prefer matter."""
    rt = runtime()
    with rt.store.unit_of_work(caller_scope(), write=write) as uow:
        service = rt.fhir_service(uow, author=caller_name(), lenient=not by_id and lenient(), principal=caller())
        if not by_id:
            service.base_urls = server_bases()
        yield service


def server_bases() -> tuple[str, ...]:
    """This server's FHIR bases, under which an absolute reference is local: the configured public base and the
    one this request came to."""
    return tuple(dict.fromkeys((base_url(), request.host_url.rstrip("/") + "/fhir")))


def caller() -> Principal | None:
    return getattr(g, "principal", None)


def require_role(*roles: str) -> Principal:
    principal = caller()
    if principal is None or principal.role not in roles:
        raise FhirError.of(403, "forbidden", f"Only {' or '.join(roles)} clients may do this")
    return principal
