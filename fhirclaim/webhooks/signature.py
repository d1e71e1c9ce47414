"""HMAC-SHA256 signatures of webhook bodies: `X-Signature: sha256=<hex>` over the raw body bytes.

The key is the Subscription's secret (UTF-8). `verify` is what a receiver runs (and the tests do): it compares
in constant time, so a forger learns nothing from how long a wrong guess took to reject.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature"
ID_HEADER = "X-Webhook-Id"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The `X-Signature` header value for this body."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of exactly these bytes under this secret."""
    if not header or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), header.strip().encode("ascii", "replace"))
