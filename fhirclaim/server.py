"""`fhirclaim serve`: the embedded production-grade WSGI server (waitress) around the app factory."""

from __future__ import annotations

import logging

from waitress.server import create_server

from fhirclaim import logging_setup
from fhirclaim.app import create_app
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.sandbox import sandbox_clients, sandbox_users
from fhirclaim.signals import stop_on_signals
from fhirclaim.startup import check_can_listen, freeze_startup_heap, listen_error, private_umask
from fhirclaim.webapp.accounts import UserAccounts

log = logging.getLogger(__name__)
_LISTEN_OPTIONS = "--host / --port, FHIRCLAIM_HOST / FHIRCLAIM_PORT"


def _sandbox_lines(runtime: Runtime) -> list[str]:
    """The sandbox clients (created on first start, before the server says it listens, so that a script waiting
    for that line finds sandbox-clients.json complete)."""
    clients = sandbox_clients(runtime.clients, runtime.data_dir)
    lines = [f"sandbox clients (also in {runtime.data_dir / 'sandbox-clients.json'}):"]
    for role, client in clients.items():
        org = f"  org {client['org']}" if client.get("org") else ""
        lines.append(f"  {role:<9} client_id={client['client_id']}  client_secret={client['client_secret']}{org}")
    user = sandbox_users(UserAccounts(runtime.store, runtime.clients.throttle), runtime.data_dir)["hospital"]
    lines.append(f"sandbox web app user (also in {runtime.data_dir / 'sandbox-users.json'}): "
                 f"{user['username']} / {user['password']}  org {user['org']}  at /app/")
    return lines


def _listen(app, settings: Settings):
    """waitress on the settings' address. It hands X-Forwarded-For and the other proxy headers to the app as they
    came: the app believes them only from FHIRCLAIM_TRUSTED_PROXIES (`auth/addresses.py`). waitress 3 would
    otherwise drop them all (it trusts no proxy of its own), and behind a proxy every caller would be the proxy."""
    try:
        return create_server(app, host=settings.host, port=settings.port, threads=8, ident="fhirclaim",
                             clear_untrusted_proxy_headers=False)
    except OSError as exc:  # the port was taken since check_can_listen
        raise listen_error(settings.host, settings.port, exc, options=_LISTEN_OPTIONS) from None


def serve_forever(settings: Settings) -> None:
    logging_setup.configure()
    private_umask()  # the database, keys and secrets it writes are this user's alone
    # a port that is taken fails the start at once, before the database is migrated or a key is made
    check_can_listen(settings.host, settings.port, options=_LISTEN_OPTIONS)
    runtime = Runtime(settings)
    try:
        server = _listen(create_app(settings, runtime), settings)
    except BaseException:
        runtime.close()
        raise
    try:
        freeze_startup_heap()
        if settings.run_worker:
            runtime.start_workers()
        notes = _sandbox_lines(runtime) if settings.sandbox else []
        if not settings.sandbox and not runtime.clients.list_clients():
            notes.append("no OAuth2 clients yet: create one with `fhirclaim clients add --role facility --org "
                         "<ORG_ID>`, or start with --sandbox for one per role")
        host, port = server.effective_host, server.effective_port
        shown = f"[{host}]" if ":" in str(host) else host
        runtime.listening_on(f"http://{shown}:{port}/fhir")
        stop_on_signals()  # before the first line: whoever reads it may signal at once
        # the first line is the base URL, once the server listens (scripts wait for it)
        print(f"fhirclaim serving FHIR R4 at http://{shown}:{port}/fhir", flush=True)
        for line in [f"  data dir: {runtime.data_dir}", *notes]:
            print(line, flush=True)
        server.run()  # returns when a signal stops it: waitress takes the KeyboardInterrupt and ends its loop
    except KeyboardInterrupt:
        pass  # the signal came just outside waitress's loop
    finally:
        log.info("stopping: finishing the jobs in hand")
        server.close()
        runtime.close()
