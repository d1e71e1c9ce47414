"""`fhirclaim eklaim-emulator`: the sandbox E-Klaim served standalone with waitress at /E-Klaim/ws.php.

The key is read from `--key-file`; without one, `<data-dir>/eklaim.key` is used, generated (mode 0600) the first
time. Only the key file's path is ever printed, never the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click
from waitress import create_server

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator.app import WS_PATH, create_emulator_app
from fhirclaim.eklaim.emulator.config import EmulatorConfig
from fhirclaim.signals import stop_on_signals

KEY_FILE_NAME = "eklaim.key"
DATABASE_FILE_NAME = "eklaim-emulator.db"


def serve_emulator(host: str, port: int, key_file: Path | None, data_dir: Path, coders: Sequence[str],
                   tariff_table: Path | None, allow_debug: bool) -> None:
    data_dir = Path(data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path, created = ensure_key_file(key_file, data_dir)
    click.echo(f"E-Klaim key {'generated in' if created else 'read from'} {key_path}")
    config = EmulatorConfig(key_hex=read_key(key_path), database_url=f"sqlite:///{data_dir / DATABASE_FILE_NAME}",
                            allow_debug=allow_debug, coders=[parse_coder(text) for text in coders],
                            tariff_table=tariff_table)
    app = create_emulator_app(config)
    server = create_server(app, host=host, port=port)
    stop_on_signals()  # before the line a script waits for
    try:
        click.echo(f"E-Klaim emulator listening at http://{host}:{server.effective_port}{WS_PATH}"
                   + ("" if allow_debug else " (mode=debug refused)"))
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.close()


def ensure_key_file(key_file: Path | None, data_dir: Path) -> tuple[Path, bool]:
    """The key file to use, and whether it was just generated (only the default one is ever generated)."""
    if key_file is not None:
        if not Path(key_file).is_file():
            raise click.ClickException(f"key file {key_file} does not exist")
        return Path(key_file), False
    path = data_dir / KEY_FILE_NAME
    if path.is_file():
        return path, False
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(crypto.generate_key() + "\n")
    return path, True


def read_key(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    try:
        crypto.encrypt(b"", key)
    except crypto.InvalidKeyError:
        raise click.ClickException(f"{path} does not hold a 64-hex E-Klaim key") from None
    return key


def parse_coder(text: str) -> tuple[str, str]:
    """`NIK:NAME` → (nik, name); the name may contain colons."""
    nik, separator, name = text.partition(":")
    if not separator or not nik.strip() or not name.strip():
        raise click.BadParameter(f"--coder wants NIK:NAME, got {text!r}")
    return nik.strip(), name.strip()
