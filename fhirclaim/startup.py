"""Startup failures a user can fix: one error type, raised where the problem is found, with the fix in its message.

`StartupError` is for the known ways a process cannot start (the port is taken, the database URL is malformed or
the database unreachable, the data dir is not writable, a key file is missing or damaged). The command line turns
it into one line on stderr and exit status 2; anything else stays an ordinary exception with its traceback. This
module knows nothing of the command line, so the domain code raising it stays free of click.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700  # the data dir: its user's alone
PRIVATE_FILE = 0o600  # databases, keys, the sandbox clients' secrets
# What the data dir holds that nobody else may read (relative globs; signing/ has its own 0700 directory).
PRIVATE_FILES = ("*.db", "*.db-wal", "*.db-shm", "*.key", "sandbox-clients.json", "sandbox-users.json", "signing",
                 "signing/**/*.key.pem")


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
    """Create `path` when missing (mode 0700: every directory this is called for holds data or keys) and check that
    files can be written in it; StartupError when not.

    `what` names the directory for the user ("data dir"), `fix` says how to name another one.
    """
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
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


# --- the heap -------------------------------------------------------------------------------------------------


def freeze_startup_heap() -> None:
    """Set what start-up made (modules, the R4B models and their validators, profiles, code tables, the app) aside
    from the garbage collector: collected once, then frozen (`gc.freeze`), so that its full collections walk only
    what the server made since, not the ~200k objects every process starts with. Called last by the long-running
    commands (serve, worker), before their threads start. Measured (issue 17, `benchmarks/facade_overhead.py`):
    the collector's work was ~3 ms of a claim's 68 ms of CPU, nearly all of it gone with the start-up heap frozen."""
    gc.collect()
    gc.freeze()


# --- files at rest ------------------------------------------------------------------------------------------


def private_umask() -> None:
    """Whatever this process creates from now on is its user's alone (0600 files, 0700 directories): called first
    by the commands that write into the data dir (serve, worker, clients add)."""
    os.umask(0o077)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 when it does not exist (a SQLite database before SQLite opens it, so that
    the file, and the -wal and -shm files SQLite gives the same mode, are never readable by others)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


def create_private_file_holding(path: Path, data: bytes) -> bool:
    """Make `path` (mode 0600) holding `data` unless it exists; True when this call made it. The file appears whole or
    not at all: written and synced under a temporary name of this process's, then linked to `path`, which fails when
    another process made it first (whose file then stays). Several processes starting together on a new data dir
    (a production server's workers) thus never read a half-written key, and a crash leaves no empty one behind. On
    a filesystem without hard links the file is made in place, as before (the half-written window comes back)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        write_new_private_file(temporary, data)
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError as error:  # no hard links here (EPERM, ENOTSUP, …): in place, never over another's
        if error.errno not in _NO_HARD_LINKS:
            raise
        try:
            write_new_private_file(path, data)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def write_new_private_file(path: Path, data: bytes) -> None:
    """`data` in a file made now with mode 0600 (no moment in which another user could read it), synced;
    FileExistsError when `path` exists."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def create_private_directory(path: Path) -> None:
    """Create `path` and each missing directory above it with mode 0700 (`Path.mkdir(parents=True)` would give the
    ones above the umask's mode: `signing/` 0755 under a usual umask when `signing/ca/` is made first)."""
    missing = [directory for directory in (path, *path.parents) if not directory.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)


def loose_modes(data_dir: Path) -> list[tuple[Path, int]]:
    """(path, mode) of the data dir and of each private file in it that groups or others may read or enter."""
    if os.name != "posix" or not data_dir.is_dir():
        return []
    paths = [data_dir] + sorted({p for pattern in PRIVATE_FILES for p in data_dir.glob(pattern)})
    modes = [(path, stat.S_IMODE(path.lstat().st_mode)) for path in paths if path.exists() and not path.is_symlink()]
    return [(path, mode) for path, mode in modes if mode & 0o077]


def warn_loose_modes(data_dir: Path) -> None:
    """One warning line per path others may read (the start goes on: fixing modes is the operator's call)."""
    for path, mode in loose_modes(data_dir):
        wanted = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
        log.warning("%s is mode %04o: other users of this machine may read it; chmod %o %s", path, mode, wanted, path)
