"""From request bytes to a message, and from an answer to response bytes, as ws.php does it.

Encrypted mode: the body is an `mc_encrypt` payload; the answer is armoured (4 dashes, CRLF). A body that does not
decrypt gets E2031 "Key Mismatch" (the 5.10 manual's code for it), encrypted like every answer — one answer for
every decryption failure, so nothing leaks which check failed.

JSON is judged as PHP's `json_decode` judges it, each failure with its E2021–E2026 number: nesting deeper than
512 (E2021), a closing bracket that does not match its opening one (E2022, "underflow or the modes mismatch"), a
raw control character inside a string (E2023), other syntax errors (E2024), bytes that are not UTF-8 (E2025), and
a lone UTF-16 surrogate escape such as `"\\ud800"` (E2026: PHP 5.6, which E-Klaim runs on, has no own code for it).
"""

from __future__ import annotations

import json
from typing import Any

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator.answers import WsError

PHP_JSON_MAX_DEPTH = 512
_CLOSERS = {"}": "{", "]": "["}


def decode_request(body: bytes, *, debug: bool, key_hex: str) -> dict[str, Any]:
    """The request message; WsError for anything that is not a JSON object with metadata.method."""
    if debug:
        plaintext = body
    else:
        try:
            plaintext = crypto.decrypt(body, key_hex)
        except crypto.DecryptionError:
            raise WsError("E2031") from None
    message = parse_json(plaintext)
    if not isinstance(message, dict) or not isinstance(message.get("metadata"), dict):
        raise WsError("E2001")
    if not isinstance(message.get("data"), dict):
        message["data"] = {}
    return message


def encode_answer(answer: dict[str, Any], *, debug: bool, key_hex: str) -> bytes:
    """JSON (escaped to ASCII, as PHP's json_encode writes it), encrypted and armoured unless in debug mode."""
    text = json.dumps(answer, ensure_ascii=True, separators=(",", ":"))
    if debug:
        return text.encode("ascii")
    return crypto.armour(crypto.encrypt(text, key_hex)).encode("ascii")


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WsError("E2025") from None
    _check_brackets(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise WsError("E2023" if error.msg.startswith("Invalid control character") else "E2024") from None
    if _has_lone_surrogate(value):
        raise WsError("E2026")
    return value


def _check_brackets(text: str) -> None:
    """Depth and bracket pairing outside strings (json.loads would report these as plain syntax errors, or fail
    with RecursionError on deep input)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
            if len(stack) > PHP_JSON_MAX_DEPTH:
                raise WsError("E2021")
        elif char in _CLOSERS:
            if stack and stack[-1] != _CLOSERS[char]:
                raise WsError("E2022")
            if stack:
                stack.pop()


def _has_lone_surrogate(value: Any) -> bool:
    """Any string (key or value) holding a surrogate that UTF-8 cannot encode; iterative, as input may nest 512
    deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
