"""`fhirclaim serve`: the embedded production-grade WSGI server (waitress) around the app factory."""

from __future__ import annotations

import logging

from waitress.server import create_server

from fhirclaim import logging_setup
from fhirclaim.app import create_app
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime
from fhirclaim.sandbox import sandbox_clients

log = logging.getLogger(__name__)


def _announce_sandbox(runtime: Runtime) -> None:
    clients = sandbox_clients(runtime.clients, runtime.data_dir)
    print(f"sandbox clients (also in {runtime.data_dir / 'sandbox-clients.json'}):", flush=True)
    for role, client in clients.items():
        org = f"  org {client['org']}" if client.get("org") else ""
        print(f"  {role:<9} client_id={client['client_id']}  client_secret={client['client_secret']}{org}", flush=True)


def serve_forever(settings: Settings) -> None:
    logging_setup.configure()
    runtime = Runtime(settings)
    app = create_app(settings, runtime)
    if settings.run_worker:
        runtime.start_workers()
    if settings.sandbox:
        _announce_sandbox(runtime)
    elif not runtime.clients.list_clients():
        print("no OAuth2 clients yet: create one with `fhirclaim clients add --role facility --org <ORG_ID>`, "
              "or start with --sandbox for one per role", flush=True)
    server = create_server(app, host=settings.host, port=settings.port, threads=8, ident="fhirclaim")
    host, port = server.effective_host, server.effective_port
    shown = f"[{host}]" if ":" in str(host) else host
    runtime.listening_on(f"http://{shown}:{port}/fhir")
    print(f"fhirclaim serving FHIR R4 at http://{shown}:{port}/fhir", flush=True)
    print(f"  data dir: {runtime.data_dir}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
