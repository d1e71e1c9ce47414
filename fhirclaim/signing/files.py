"""Key files on disk, shared by the key stores and the CA: private keys written 0600 from the first byte (encrypted
when a passphrase is configured), read back with an error that says what to fix, and one exclusive lock per
directory for the processes (server, workers, CLI) that may create keys at the same moment."""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from fhirclaim.signing.certificates import PrivateKey
from fhirclaim.startup import create_private_directory, write_new_private_file

log = logging.getLogger(__name__)

LOCK = ".lock"


class SigningKeyError(Exception):
    """The key directory cannot be used (wrong or missing passphrase, damaged manifest, missing file)."""


def write_private_key(path: Path, private_key: PrivateKey, passphrase: bytes | None) -> None:
    """PKCS#8 PEM, mode 0600 from the moment the file exists: no window in which another user could read it."""
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    write_new_private_file(path, private_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8, encryption))


def read_private_key(path: Path, passphrase: bytes | None) -> PrivateKey:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"private key file {path} is missing") from None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users; it should be mode 0600", path)
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError:  # cryptography: encrypted without passphrase, or passphrase for a plain key
        raise SigningKeyError(f"{path}: the key is encrypted and no passphrase was given, or the other way "
                              "round (FHIRCLAIM_SIGNING_KEY_PASSPHRASE)") from None
    except ValueError:
        raise SigningKeyError(f"{path}: wrong passphrase or damaged key file") from None
    return key  # type: ignore[return-value]


def write_atomically(path: Path, data: bytes) -> None:
    """A crash leaves the old file or the new one, never half of one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on `directory` (made 0700 when missing) for as long as the block runs."""
    create_private_directory(directory)
    with open(directory / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
