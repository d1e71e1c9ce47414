"""Per-request access to the runtime: a FHIR service on a unit of work, scoped to the caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fhirclaim.api.http import base_url, current_flask_app, lenient, request_base, request_globals
from fhirclaim.auth.principal import Principal
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.unit_of_work import UnitOfWork


def runtime() -> Runtime:
    return current_flask_app().extensions["fhirclaim"]


def caller_scope() -> Scope:
    return getattr(request_globals(), "scope", SYSTEM)


def caller_name() -> str | None:
    return getattr(request_globals(), "caller", None)


@contextlib.contextmanager
def fhir_service(*, write: bool, by_id: bool = False) -> Iterator[FhirService]:
    """A FHIR service whose unit of work commits when the handler's block ends without an error. `by_id`: the
    handler only reads by type and id, so neither this server's bases (for references) nor Prefer matter. A read
    runs in the transaction that checked the caller's token, when authentication held one (`hold_reading`,
    `hold_writing`) of its kind."""
    rt = runtime()
    held = request_globals().pop(_HELD, None)
    if held is not None and held.write != write:
        _end(held)  # a read's snapshot does not serve a write, nor a write's lock a read: this one starts afresh
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


# --- the unit of work a request opens to check its token, kept for its handler (issue 17) -------------------

_HELD = "fhirclaim_held_unit"


class HeldUnit(contextlib.ExitStack):
    """A unit of work opened before the handler runs (system scope: the caller is not known yet), its first
    statement the token check. The handler's `fhir_service` ends it: a read's is rolled back (`Store.reading`), a
    write's commits with the handler's block. One no handler took is ended by `release_held`, rolled back."""

    uow: UnitOfWork
    write: bool


class _NotTaken(Exception):
    """Thrown into a held write that no handler took: its unit of work rolls back (it only checked a token)."""


def hold_reading() -> UnitOfWork:
    """A read transaction for this request: the token is checked in it, then the handler's `fhir_service` reads in
    it (one transaction, one connection per read). `release_held` ends it if no handler took it."""
    return _hold(runtime().store.reading(SYSTEM), write=False)


def hold_writing() -> UnitOfWork:
    """The write's own unit of work, begun by the token check: one connection checkout, one BEGIN and no
    transaction of its own for the check (issue 17), and a token revoked before the write began is refused by the
    write itself. The body was read before (`api.auth`), so no slow client holds the transaction open. On SQLite
    the check runs before the transaction begins (`TokenRepository.lookup`): the write's first statement takes the
    one writer lock, after the body is validated."""
    return _hold(runtime().store.unit_of_work(SYSTEM, write=True), write=True)


def _hold(unit: contextlib.AbstractContextManager[UnitOfWork], *, write: bool) -> UnitOfWork:
    held = HeldUnit()
    held.uow, held.write = held.enter_context(unit), write
    setattr(request_globals(), _HELD, held)
    return held.uow


def release_held(_error: BaseException | None = None) -> None:
    """End the held unit of work, if it is still held (a refusal before the handler, or no handler at all):
    rolled back, whether it was to read or to write."""
    held = request_globals().pop(_HELD, None)
    if held is not None:
        _end(held)


def _end(held: HeldUnit) -> None:
    if held.write:
        held.__exit__(_NotTaken, _NotTaken(), None)  # rolls back, and does not raise (the stack re-raises nothing)
    else:
        held.close()


def server_bases() -> tuple[str, ...]:
    """This server's FHIR bases, under which an absolute reference is local: the configured public base and the
    one this request came to."""
    return bases_of(base_url(), request_base())


def bases_of(base: str, request_base: str) -> tuple[str, ...]:
    """`server_bases` of this server's base (`http.base_url`) and the request's (the lean create's, from the
    environ)."""
    return tuple(dict.fromkeys((base, request_base)))


def caller() -> Principal | None:
    return getattr(request_globals(), "principal", None)


def require_role(*roles: str) -> Principal:
    principal = caller()
    if principal is None or principal.role not in roles:
        raise FhirError.of(403, "forbidden", f"Only {' or '.join(roles)} clients may do this")
    return principal
