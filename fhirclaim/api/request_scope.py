"""Per-request access to the runtime: a FHIR service on a unit of work, scoped to the caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, g

from fhirclaim.api.http import base_url, lenient, request_base
from fhirclaim.auth.principal import Principal
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.unit_of_work import UnitOfWork


def runtime() -> Runtime:
    return current_app.extensions["fhirclaim"]


def caller_scope() -> Scope:
    return getattr(g, "scope", SYSTEM)


def caller_name() -> str | None:
    return getattr(g, "caller", None)


@contextlib.contextmanager
def fhir_service(*, write: bool, by_id: bool = False) -> Iterator[FhirService]:
    """A FHIR service whose unit of work commits when the handler's block ends without an error. `by_id`: the
    handler only reads by type and id, so neither this server's bases (for references) nor Prefer matter. A read
    runs in the transaction that checked the caller's token, when authentication held one (`hold_reading`)."""
    rt = runtime()
    held = g.pop(_HELD, None)
    if held is not None and write:
        held.close()  # a write starts afresh: no second connection, no snapshot older than the write
        held = None
    with contextlib.ExitStack() as stack:
        if held is not None:
            uow = stack.enter_context(held).uow.viewing(caller_scope())
        else:
            uow = stack.enter_context(rt.store.unit_of_work(caller_scope(), write=write))
        service = rt.fhir_service(uow, author=caller_name(), lenient=not by_id and lenient(), principal=caller())
        if not by_id:
            service.base_urls = server_bases()
        yield service


# --- the read transaction a GET opens to check its token, kept for its handler (issue 17) -------------------

_HELD = "fhirclaim_held_reading"


class HeldReading(contextlib.ExitStack):
    """A read-only unit of work opened before the handler runs (system scope: the caller is not known yet).
    Exiting it ends the transaction (`Store.reading`: it only reads, so it is rolled back, not committed)."""

    uow: UnitOfWork


def hold_reading() -> UnitOfWork:
    """A read transaction for this request: the token is checked in it, then the handler's `fhir_service` reads in
    it (one transaction, one connection per read). `release_reading` ends it if no handler took it."""
    held = HeldReading()
    held.uow = held.enter_context(runtime().store.reading(SYSTEM))
    setattr(g, _HELD, held)
    return held.uow


def release_reading(_error: BaseException | None = None) -> None:
    """End the held read transaction, if it is still held (a refusal before the handler, or no handler at all)."""
    held = g.pop(_HELD, None)
    if held is not None:
        held.close()


def server_bases() -> tuple[str, ...]:
    """This server's FHIR bases, under which an absolute reference is local: the configured public base and the
    one this request came to."""
    return tuple(dict.fromkeys((base_url(), request_base())))


def caller() -> Principal | None:
    return getattr(g, "principal", None)


def require_role(*roles: str) -> Principal:
    principal = caller()
    if principal is None or principal.role not in roles:
        raise FhirError.of(403, "forbidden", f"Only {' or '.join(roles)} clients may do this")
    return principal
