"""The sandbox: the embedded E-Klaim (the emulator, in this process, behind the very same encrypted protocol) and
the demo clients of `fhirclaim serve --sandbox`.

The embedded E-Klaim is what the server talks to when no real E-Klaim is configured, so a fresh install groups
claims at once. Its key lives in `DATA_DIR/eklaim.key` (mode 0600) and its claims in `DATA_DIR/eklaim-emulator.db`.
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


def key_in(data_dir: Path) -> str:
    path = data_dir / "eklaim.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_key())
    return path.read_text().strip()


class SandboxEKlaim:
    """One lazily started emulator per server process, shared by every tenant without an E-Klaim of its own."""

    def __init__(self, data_dir: Path, database_url: str | None = None):
        self.data_dir = data_dir
        self.database_url = database_url or f"sqlite:///{data_dir / 'eklaim-emulator.db'}"
        self._app: EmulatorApp | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return key_in(self.data_dir)

    @property
    def app(self) -> EmulatorApp:
        with self._lock:
            if self._app is None:
                self._app = create_emulator_app(EmulatorConfig(key_hex=self.key, database_url=self.database_url))
            return self._app

    def register_coder(self, nik: str, name: str) -> None:
        self.app.register_coder(nik, name)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


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
