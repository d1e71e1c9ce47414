"""The sandbox: the embedded E-Klaim (the emulator, in this process, behind the very same encrypted protocol) and
the demo clients of `fhirclaim serve --sandbox`.

The embedded E-Klaim is what the server talks to when no real E-Klaim is configured, so a fresh install groups
claims at once. Its key lives in `DATA_DIR/eklaim.key` (mode 0600). Every hospital runs its own E-Klaim in real
life, so each tenant gets an emulator of its own: the examples' hospital keeps its claims in
`DATA_DIR/eklaim-emulator.db`, any other hospital in `DATA_DIR/eklaim-emulator-<org>.db` (one hospital's SEPs never
collide with another's inside E-Klaim; BPJS-K is where they meet).
`--sandbox` also creates one client per role on first start and writes them to `DATA_DIR/sandbox-clients.json`
(mode 0600: it holds secrets, which is acceptable for a sandbox and nowhere else).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from fhirclaim.eklaim.crypto import generate_key
from fhirclaim.eklaim.emulator.app import EmulatorApp, create_emulator_app
from fhirclaim.eklaim.emulator.config import EmulatorConfig
from fhirclaim.startup import create_private_file, create_private_file_holding
from fhirclaim.store.db import sqlite_path


def key_in(data_dir: Path) -> str:
    """The sandbox E-Klaims' key, made when missing; when another process made it first, its key (several workers
    starting their sandbox E-Klaim at once)."""
    path = data_dir / "eklaim.key"
    if not path.exists():
        create_private_file_holding(path, generate_key().encode("ascii"))
    return path.read_text().strip()


class SandboxEKlaim:
    """The embedded E-Klaims of one server process, started lazily: one per hospital without an E-Klaim of its own."""

    def __init__(self, data_dir: Path, database_url: str | None = None, protocol: str = "5.10"):
        self.data_dir = data_dir
        self.database_url = database_url  # None: one SQLite file per hospital in the data dir
        self.protocol = protocol  # the E-Klaim build it speaks ("5.10" | "5.1"): the runtime passes the server's
        self._apps: dict[str, EmulatorApp] = {}
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return key_in(self.data_dir)

    @property
    def app(self) -> EmulatorApp:
        """The examples' hospital's E-Klaim."""
        return self.app_for(DEMO_HOSPITAL)

    def app_for(self, tenant: str | None) -> EmulatorApp:
        """The E-Klaim of one hospital (a tenant-less caller gets the examples' hospital's)."""
        name = _file_part(tenant or DEMO_HOSPITAL)
        with self._lock:
            if name not in self._apps:
                self._apps[name] = self._start(name)
            return self._apps[name]

    def _start(self, name: str) -> EmulatorApp:
        database_url = self.database_url or f"sqlite:///{self.data_dir / _database_file(name)}"
        database_file = sqlite_path(database_url)
        if database_file is not None:
            create_private_file(database_file)  # 0600, like the server's own database
        return create_emulator_app(EmulatorConfig(key_hex=self.key, database_url=database_url,
                                                  protocol=self.protocol))

    def register_coder_for(self, tenant: str | None):
        """The callback that registers a coder in one hospital's E-Klaim (the sandbox does it on first use)."""
        return lambda nik, name: self.app_for(tenant).register_coder(nik, name)

    def register_coder(self, nik: str, name: str) -> None:
        self.app.register_coder(nik, name)

    def close(self) -> None:
        for app in self._apps.values():
            app.close()


def _file_part(tenant: str) -> str:
    """A tenant id as a file-name part: letters, digits, `-` and `_` only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in tenant)


def _database_file(name: str) -> str:
    return "eklaim-emulator.db" if name == DEMO_HOSPITAL else f"eklaim-emulator-{name}.db"


DEMO_HOSPITAL = "10000004"  # the examples' hospital (SATUSEHAT organization id)
SANDBOX_ROLES = ("facility", "eklaim", "bpjs", "admin")


def sandbox_clients(registry, data_dir: Path, org: str = DEMO_HOSPITAL) -> dict[str, dict[str, Any]]:
    """The sandbox's clients: read back from `sandbox-clients.json` when they still exist, else created."""
    path = data_dir / "sandbox-clients.json"
    if path.exists():
        known = json.loads(path.read_text())
        if all(registry.principal_of(known.get(role, {}).get("client_id", "")) for role in SANDBOX_ROLES):
            return known
    clients = {}
    for role in SANDBOX_ROLES:
        hospital = org if role in ("facility", "eklaim") else None
        client_id, secret = registry.add_client(role, hospital, name=f"sandbox {role}")
        clients[role] = {"client_id": client_id, "client_secret": secret, "org": hospital}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(clients, handle, indent=2)
    return clients


def sandbox_users(accounts, data_dir: Path, org: str = DEMO_HOSPITAL) -> dict[str, dict[str, Any]]:
    """The sandbox hospital's web app user (a manager: every action of the claim page), in `sandbox-users.json`
    beside sandbox-clients.json (mode 0600); read back while that user still exists."""
    import secrets

    path = data_dir / "sandbox-users.json"
    if path.exists():
        known = json.loads(path.read_text())
        if accounts.active(known.get("hospital", {}).get("username", "")):
            return known
    username = "sandbox-hospital"
    while accounts.active(username) or any(u.username == username for u in accounts.list()):
        username = f"sandbox-hospital-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    accounts.add(username, password, org=org, role="manager")
    users = {"hospital": {"username": username, "password": password, "org": org}}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(users, handle, indent=2)
    return users
