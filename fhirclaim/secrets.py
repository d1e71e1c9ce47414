"""Encryption at rest for secrets the server must read back (tenant E-Klaim keys, webhook secrets).

One Fernet key (AES-128-CBC + HMAC-SHA256, from `cryptography`) per installation: `FHIRCLAIM_SECRET_KEY` when
set (production: from the platform's secret store), else `DATA_DIR/secret.key`, created with mode 0600 on first
use. Secrets that are only ever compared (client secrets) are hashed instead, never stored here.

A key that is not a Fernet key (a mistyped `FHIRCLAIM_SECRET_KEY`, a damaged or unreadable `secret.key`) is a
`StartupError` naming where the key came from — never the key itself.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from fhirclaim.startup import StartupError, create_private_file_holding

KEY_FILE_NAME = "secret.key"
_MAKE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretError(Exception):
    """A stored secret cannot be decrypted (wrong or rotated installation key)."""


class SecretBox:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def for_data_dir(cls, data_dir: Path, env_key: str | None = None) -> SecretBox:
        """The box of `env_key` (FHIRCLAIM_SECRET_KEY) when given, else of DATA_DIR/secret.key (made when missing)."""
        if env_key:
            try:
                return cls(env_key.strip().encode())
            except ValueError:  # binascii.Error included
                if "/" in env_key:  # never in url-safe base64: a file name
                    raise StartupError("FHIRCLAIM_SECRET_KEY looks like a file path, but it holds the key itself "
                                       '(44 characters of url-safe base64): set FHIRCLAIM_SECRET_KEY="$(cat FILE)"'
                                       ) from None
                raise StartupError("FHIRCLAIM_SECRET_KEY is not a Fernet key (44 characters of url-safe base64): set "
                                   "it to the installation's key; a new one, which cannot decrypt secrets stored "
                                   f"with the old, comes from {_MAKE_KEY}") from None
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            _create_key_file(path)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            fix = ("run as the user who owns the data dir" if isinstance(exc, PermissionError)
                   else "restore it from a backup of the data dir")
            raise StartupError(f"cannot read the secret key file {path} ({exc.strerror or exc}): {fix}, or set "
                               "FHIRCLAIM_SECRET_KEY") from None
        try:
            return cls(key)
        except ValueError:
            raise StartupError(f"the secret key file {path} does not hold a Fernet key (damaged or truncated): "
                               "restore it from a backup of the data dir (it decrypts the stored E-Klaim keys and "
                               "webhook secrets), or set FHIRCLAIM_SECRET_KEY") from None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretError("a stored secret cannot be decrypted with this installation's key") from exc


def _create_key_file(path: Path) -> None:
    """A new key in `path`, mode 0600 from the start and whole once there; when another process starting at the same
    time made it first, its key is the installation's (`create_private_file_holding`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private_file_holding(path, Fernet.generate_key())
