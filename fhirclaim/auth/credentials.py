"""Secrets and tokens: generated from `secrets`, stored only as hashes, compared in constant time.

Client secrets are hashed with scrypt (memory-hard: a leaked table does not give the secrets away cheaply); bearer
tokens, being long random values, with SHA-256 so that each request can look its token up by hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


_ID_ALPHABET = string.ascii_letters + string.digits


def new_client_id() -> str:
    """24 letters and digits (143 bits): an id is typed on command lines, where one starting with `-` (as a
    urlsafe token may) reads as an option (`fhirclaim clients disable -x…` was a usage error one time in 64)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def new_secret() -> str:
    return secrets.token_urlsafe(36)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + "$".join(base64.b64encode(part).decode() for part in (salt, digest))


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_text, digest_text = stored.split("$")
        salt, digest = base64.b64decode(salt_text), base64.b64decode(digest_text)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return hmac.compare_digest(candidate, digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A hash to verify against when the client id is unknown, so that unknown and known ids take the same time.
DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))
