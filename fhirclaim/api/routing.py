"""Routes from the route table: each handler is registered by its key in `api.surface`, which says its method,
path and the roles that may call it.

`serve_on` registers handlers that return a `Reply` (the FHIR REST, the operations, admin's): the view checks the
asked format, then the entry's roles (403), then renders what the handler returns. `view_on` registers views that
answer a Flask response themselves (the landing pages, Swagger UI). Both refuse, at import, a handler that is not
the one the table names (`Endpoint.handler`), so that the table says truly what serves each route. (OAuth2's two
routes, `api.auth`, are Flask's own, with its strict trailing slash; tests/rest/test_routing.py checks that the
table names their handlers truly.)
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from fhirclaim.api import surface
from fhirclaim.api.http import Reply, check_format, render
from fhirclaim.api.request_scope import require_role

Register = Callable[[str], Callable[[Callable], Callable]]


def serve_on(target: Blueprint, mount: str = surface.FHIR_BASE) -> Register:
    """A decorator registering a handler that returns a `Reply` on `target` (mounted at `mount`) as the table's
    entry `key`."""
    def serve(key: str) -> Callable:
        def register(handler: Callable[..., Reply]) -> Callable:
            entry = _entry_of(key, handler)
            add_endpoint(target, entry, reply_view(handler, entry.roles), mount)
            return handler
        return register
    return serve


def view_on(target: Blueprint, mount: str = "") -> Register:
    """A decorator registering a Flask view (it answers its own response) on `target` as the table's entry `key`."""
    def serve(key: str) -> Callable:
        def register(view: Callable) -> Callable:
            add_endpoint(target, _entry_of(key, view), view, mount)
            return view
        return register
    return serve


def reply_view(handler: Callable[..., Reply], roles: tuple[str, ...] = ()) -> Callable:
    """A Flask view of a handler returning a `Reply`: the format check, the caller's role when `roles` names some
    (403 otherwise), then the rendered answer."""
    def view(**kwargs):
        check_format()
        if roles:
            require_role(*roles)
        return render(handler(**kwargs))
    return view


def add_endpoint(target: Blueprint, entry: surface.Endpoint, view: Callable, mount: str) -> None:
    """Register `view` on `target` (mounted at `mount`) under the entry's key, at its path and method."""
    target.add_url_rule(entry.flask_rule(mount), entry.key, view, methods=[entry.method], strict_slashes=False)


def _entry_of(key: str, handler: Callable) -> surface.Endpoint:
    entry = surface.endpoint(key)
    if f"{handler.__module__}.{handler.__name__}" != entry.handler:
        raise ValueError(f"the route table says {entry.handler} serves {key}, not "
                         f"{handler.__module__}.{handler.__name__}")
    return entry
