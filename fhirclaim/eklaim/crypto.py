"""The E-Klaim payload format (manual "Web Service E-Klaim", section III, PHP `mc_encrypt` / `mc_decrypt`).

    payload  = chunk_split(base64(signature ‖ IV ‖ ciphertext))      76-char lines, each ended by CRLF
    signature = HMAC-SHA256(key, ciphertext)[:10]                      "against padding oracle attacks"
    ciphertext = AES-256-CBC(key, IV, PKCS#7(plaintext))               key = 32 bytes from 64 hex chars

A server answer is the payload between `----BEGIN ENCRYPTED DATA----` and `----END ENCRYPTED DATA----` lines
(4 dashes as real servers send; the manual's example shows 5).

Every way a payload can fail to decrypt raises the same `DecryptionError` with the same message: telling a bad
signature from bad padding (or bad base64) would hand an attacker an oracle. The signature is checked first and in
constant time, so that padding is only ever looked at for authentic ciphertexts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 32
IV_BYTES = 16
SIGNATURE_BYTES = 10
LINE_LENGTH = 76  # PHP chunk_split() default
CRLF = "\r\n"

ARMOUR_BEGIN = "----BEGIN ENCRYPTED DATA----"
ARMOUR_END = "----END ENCRYPTED DATA----"

_DECRYPTION_FAILED = "payload cannot be decrypted with this key"
# An armour line: 4 or more dashes, BEGIN/END ENCRYPTED DATA, the same dashes (tolerant of 4 vs 5).
_ARMOUR_LINE = re.compile(r"^-{4,}\s*(BEGIN|END) ENCRYPTED DATA\s*-{4,}\s*$", re.MULTILINE)
_BASE64_BODY = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


class DecryptionError(Exception):
    """The one error for every payload that does not decrypt (no hint which check failed)."""

    def __init__(self) -> None:
        super().__init__(_DECRYPTION_FAILED)


class InvalidKeyError(ValueError):
    """A key that is not 64 hex characters (raised by encrypt(); decrypt() folds it into DecryptionError)."""


def generate_key() -> str:
    """A fresh 256-bit key as 64 lowercase hex characters, like E-Klaim's Setup → Integrasi → Generate Key."""
    return os.urandom(KEY_BYTES).hex()


def encrypt(plaintext: bytes | str, key_hex: str, iv: bytes | None = None) -> str:
    """Encrypt like `mc_encrypt`: the base64 payload wrapped at 76 chars with CRLF, trailing CRLF included.

    `iv` is for test vectors only; a real call leaves it None and gets 16 random bytes.
    """
    key = _key_bytes(key_hex)
    if iv is None:
        iv = os.urandom(IV_BYTES)
    if len(iv) != IV_BYTES:
        raise ValueError(f"IV must be {IV_BYTES} bytes")
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return chunk_split(base64.b64encode(_signature(key, ciphertext) + iv + ciphertext).decode("ascii"))


def decrypt(payload: str | bytes, key_hex: str) -> bytes:
    """Decrypt like `mc_decrypt`, but strictly: any failure raises `DecryptionError`.

    Accepts the bare payload (wrapped or on one line, CRLF or LF) or a whole armoured answer.
    """
    try:
        key = _key_bytes(key_hex)
        raw = _base64_decode(unarmour(payload))
    except (InvalidKeyError, ValueError, UnicodeError):
        raise DecryptionError() from None
    if len(raw) < SIGNATURE_BYTES + IV_BYTES + IV_BYTES:  # at least one cipher block
        raise DecryptionError()
    signature = raw[:SIGNATURE_BYTES]
    iv = raw[SIGNATURE_BYTES : SIGNATURE_BYTES + IV_BYTES]
    ciphertext = raw[SIGNATURE_BYTES + IV_BYTES :]
    if len(ciphertext) % IV_BYTES:
        raise DecryptionError()
    if not hmac.compare_digest(signature, _signature(key, ciphertext)):
        raise DecryptionError()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptionError() from None


def armour(payload: str) -> str:
    """Frame a payload as a server answer: BEGIN line, the payload (already CRLF-terminated), END line."""
    if not payload.endswith(CRLF):
        payload += CRLF
    return f"{ARMOUR_BEGIN}{CRLF}{payload}{ARMOUR_END}{CRLF}"


def unarmour(text: str | bytes) -> str:
    """The payload inside an armoured answer (4 or 5 dashes, any line ends); a bare payload comes back as is.

    Whitespace is kept: base64 decoding ignores it, and callers may want the payload verbatim.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii")
    begin = end = None
    for match in _ARMOUR_LINE.finditer(text):
        if match.group(1) == "BEGIN" and begin is None:
            begin = match.end()
        elif match.group(1) == "END" and begin is not None:
            end = match.start()
    if begin is None:
        return text
    return text[begin:end].strip("\r\n") if end is not None else text[begin:].strip("\r\n")


def chunk_split(text: str, length: int = LINE_LENGTH, end: str = CRLF) -> str:
    """PHP `chunk_split()`: `end` after every `length` characters, including after the last chunk."""
    return "".join(text[i : i + length] + end for i in range(0, len(text), length))


def _key_bytes(key_hex: str) -> bytes:
    try:
        key = bytes.fromhex(key_hex)
    except (TypeError, ValueError):
        raise InvalidKeyError("E-Klaim key must be 64 hex characters") from None
    if len(key) != KEY_BYTES:
        raise InvalidKeyError("E-Klaim key must be 64 hex characters (256 bits)")
    return key


def _signature(key: bytes, ciphertext: bytes) -> bytes:
    return hmac.new(key, ciphertext, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _base64_decode(payload: str) -> bytes:
    """Strict base64: whitespace (line wrapping) is dropped, anything else outside the alphabet is an error."""
    body = "".join(payload.split()).encode("ascii")
    if not body or len(body) % 4 or not _BASE64_BODY.match(body):
        raise ValueError("not base64")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
