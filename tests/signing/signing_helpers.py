"""Helpers shared by the signing tests: walk a resource's leaves, change one, rebuild a JWS header."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

Path = tuple[Any, ...]


def leaves(value: Any, path: Path = ()) -> Iterator[Path]:
    """Paths to every scalar (string, number, boolean) inside `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def changed_one_byte(value: Any) -> Any:
    """The smallest change to a scalar: one bit of the last character, +1, or the other boolean."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if value == "":
        return "x"
    return value[:-1] + chr(ord(value[-1]) ^ 1)


def set_at(document: Any, path: Path, new: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = new


def get_at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def jws_parts(bundle: dict) -> tuple[dict, str, str]:
    """Decoded protected header, the encoded header and the encoded signature of Bundle.signature.data."""
    header_b64, payload, signature_b64 = base64.b64decode(bundle["signature"]["data"]).decode().split(".")
    assert payload == ""
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    return header, header_b64, signature_b64


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_header(bundle: dict, header: dict) -> None:
    """Replace the protected header in Bundle.signature.data, keeping the (now unrelated) signature bytes."""
    _, _, signature_b64 = jws_parts(bundle)
    compact = f"{b64url(json.dumps(header).encode())}..{signature_b64}"
    bundle["signature"]["data"] = base64.b64encode(compact.encode()).decode()
