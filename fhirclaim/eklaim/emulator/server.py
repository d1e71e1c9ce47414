"""`fhirclaim eklaim-emulator`: the sandbox E-Klaim served standalone with waitress at /E-Klaim/ws.php.

The key is read from `--key-file`; without one, `<data-dir>/eklaim.key` is used, generated (mode 0600) the first
time. Only the key file's path is ever printed, never the key. A taken port, an unwritable data dir and a missing or
damaged key file are `StartupError`s (one line and exit 2 from the command line).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
from waitress import create_server

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator.app import WS_PATH, create_emulator_app
from fhirclaim.eklaim.emulator.config import EmulatorConfig
from fhirclaim.eklaim.emulator.data_tables import tariff_classes
from fhirclaim.inacbg.batch import load_grouper
from fhirclaim.signals import stop_on_signals
from fhirclaim.startup import (
    StartupError,
    check_can_listen,
    create_private_file_holding,
    ensure_directory,
    listen_error,
)

KEY_FILE_NAME = "eklaim.key"
DATABASE_FILE_NAME = "eklaim-emulator.db"


class KeyFileError(StartupError, click.ClickException):
    """The E-Klaim key file is missing, unreadable or holds no key. Also a ClickException, as this module's key
    functions raised before StartupError existed (callers catching that still do)."""

    exit_code = 2


def serve_emulator(host: str, port: int, key_file: Path | None, data_dir: Path, coders: Sequence[str],
                   tariff_table: Path | None, allow_debug: bool, protocol: str = "5.10",
                   kode_tarif: str | None = None) -> None:
    named_coders = [parse_coder(text) for text in coders]
    kode_tarif = parse_kode_tarif(kode_tarif)
    check_can_listen(host, port)  # before a key is generated or a database made
    data_dir = ensure_directory(Path(data_dir).expanduser(), what="emulator data dir",
                                fix="point --data-dir at a writable directory")
    key_path, created = ensure_key_file(key_file, data_dir)
    key = read_key(key_path)
    click.echo(f"E-Klaim key {'generated in' if created else 'read from'} {key_path}")
    config = EmulatorConfig(key_hex=key, database_url=f"sqlite:///{data_dir / DATABASE_FILE_NAME}",
                            allow_debug=allow_debug, coders=named_coders, tariff_table=tariff_table,
                            grouper=load_grouper(tariff_table), protocol=protocol, kode_tarif=kode_tarif)
    app = create_emulator_app(config)
    try:
        server = create_server(app, host=host, port=port)
    except OSError as exc:  # taken since the check
        app.close()
        raise listen_error(host, port, exc) from None
    stop_on_signals()  # before the line a script waits for
    try:
        click.echo(f"E-Klaim emulator (build {protocol}) listening at http://{host}:{server.effective_port}"
                   f"{WS_PATH}" + ("" if allow_debug else " (mode=debug refused)"))
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.close()


def ensure_key_file(key_file: Path | None, data_dir: Path) -> tuple[Path, bool]:
    """The key file to use, and whether it was just generated (only the default one is ever generated)."""
    if key_file is not None:
        if not Path(key_file).exists():
            raise KeyFileError(f"key file {key_file} does not exist: give the file holding the 64-hex E-Klaim key "
                               "(make one with `fhirclaim keys eklaim > FILE`), or leave --key-file out to use "
                               f"{data_dir / KEY_FILE_NAME}, generated when missing")
        if not Path(key_file).is_file():
            raise KeyFileError(f"key file {key_file} is not a file: --key-file names the file holding the 64-hex "
                               "E-Klaim key")
        return Path(key_file), False
    path = data_dir / KEY_FILE_NAME
    if path.is_file():
        return path, False
    return path, create_private_file_holding(path, (crypto.generate_key() + "\n").encode("ascii"))


def read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path} ({exc.strerror or exc}): check its permissions, or "
                           "name another with --key-file") from None
    except ValueError:  # not ASCII: never a hex key
        key = ""
    try:
        crypto.encrypt(b"", key)
    except crypto.InvalidKeyError:
        raise KeyFileError(f"{path} does not hold a 64-hex E-Klaim key (damaged, or another kind of file): put the "
                           "E-Klaim key in it (a new one: `fhirclaim keys eklaim > FILE`)") from None
    return key


def parse_coder(text: str) -> tuple[str, str]:
    """`NIK:NAME` → (nik, name); the name may contain colons."""
    nik, separator, name = text.partition(":")
    if not separator or not nik.strip() or not name.strip():
        raise click.BadParameter(f"--coder wants NIK:NAME, got {text!r}")
    return nik.strip(), name.strip()


def parse_kode_tarif(text: str | None) -> str | None:
    """--kode-tarif: one of the manual's tariff classes (upper case), or None for "not set up"."""
    if text is None:
        return None
    code = text.strip().upper()
    if code not in tariff_classes():
        raise click.BadParameter(f"--kode-tarif wants one of {', '.join(tariff_classes())}, got {text!r}")
    return code
