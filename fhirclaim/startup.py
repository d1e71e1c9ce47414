"""Startup failures a user can fix: one error type, raised where the problem is found, with the fix in its message.

`StartupError` is for the known ways a process cannot start (the port is taken, the database URL is malformed or
the database unreachable, the data dir is not writable, a key file is missing or damaged). The command line turns
it into one line on stderr and exit status 2; anything else stays an ordinary exception with its traceback. This
module knows nothing of the command line, so the domain code raising it stays free of click.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path


class StartupError(Exception):
    """A process cannot start; the message names the problem and how to fix it, on one line."""

    def __str__(self) -> str:
        return one_line(super().__str__())


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines of a driver's message included) as one space."""
    return " ".join(str(text).split())


# --- listening ----------------------------------------------------------------------------------------------


def check_can_listen(host: str, port: int, *, options: str = "--host / --port") -> None:
    """Raise StartupError when nothing could listen on host:port now, before anything else is started.

    Binds (and closes) a socket on every address `host` resolves to, as the server will (SO_REUSEADDR as
    waitress sets it, so a port whose old connections linger in TIME_WAIT counts as free).
    """
    if not 0 <= port <= 65535:
        raise StartupError(f"port {port} is not a port number: choose one of 1-65535 ({options}; 0 picks a free one)")
    try:
        addresses = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: unknown host {host!r} ({exc.strerror}); use "
                           f"127.0.0.1 (this machine only), 0.0.0.0 (every interface) or an address of this "
                           f"machine ({options})") from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            if os.name == "posix":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise listen_error(host, port, exc, options=options) from None


def listen_error(host: str, port: int, exc: OSError, *, options: str = "--host / --port") -> StartupError:
    """The StartupError for a failed bind of host:port."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"port {port} is already in use on {host} (another fhirclaim or another program "
                            f"listens there): stop it, or choose another port ({options}; 0 picks a free one)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(f"cannot listen on {where}: {host} is not an address of this machine; use 127.0.0.1 "
                            f"(this machine only) or 0.0.0.0 (every interface) ({options})")
    if exc.errno == errno.EACCES:
        return StartupError(f"not allowed to listen on {where} (ports below 1024 need root): choose a port above "
                            f"1023, e.g. 8080 ({options})")
    return StartupError(f"cannot listen on {where}: {exc.strerror or exc}; check {options}")


# --- directories --------------------------------------------------------------------------------------------


def ensure_directory(path: Path, *, what: str, fix: str) -> Path:
    """Create `path` when missing and check that files can be written in it; StartupError when not.

    `what` names the directory for the user ("data dir"), `fix` says how to name another one.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except FileExistsError:
        raise StartupError(f"{what} {path} is a file, not a directory: {fix}") from None
    except NotADirectoryError:
        raise StartupError(f"{what} {path} cannot be created: a part of its path is a file, not a directory; "
                           f"{fix}") from None
    except PermissionError:
        raise StartupError(f"{what} {path} is not writable (permission denied): run as a user who may write "
                           f"there, or {fix}") from None
    except OSError as exc:
        raise StartupError(f"{what} {path} cannot be used ({exc.strerror or exc}): {fix}") from None
    return path
