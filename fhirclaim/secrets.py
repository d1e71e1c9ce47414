"""Encryption at rest for secrets the server must read back (tenant E-Klaim keys, webhook secrets).

One Fernet key (AES-128-CBC + HMAC-SHA256, from `cryptography`) per installation: `FHIRCLAIM_SECRET_KEY` when
set (production: from the platform's secret store), else `DATA_DIR/secret.key`, created with mode 0600 on first
use. Secrets that are only ever compared (client secrets) are hashed instead, never stored here.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretError(Exception):
    """A stored secret cannot be decrypted (wrong or rotated installation key)."""


class SecretBox:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def for_data_dir(cls, data_dir: Path, env_key: str | None = None) -> SecretBox:
        if env_key:
            return cls(env_key.encode())
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretError("a stored secret cannot be decrypted with this installation's key") from exc
