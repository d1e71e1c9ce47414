"""The embedded sandbox E-Klaim: the emulator, in this process, behind the very same encrypted protocol.

It is what `fhirclaim serve` talks to when no real E-Klaim is configured, so a fresh install groups claims at once.
Its key lives in `DATA_DIR/eklaim.key` (mode 0600) and its claims in `DATA_DIR/eklaim-emulator.db`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

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
