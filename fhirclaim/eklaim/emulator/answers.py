"""The two shapes of a ws.php answer: OK (`metadata.code` 200) and a business refusal (400 + `error_no`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhirclaim.eklaim.errors import error_message


class WsError(Exception):
    """A refusal: raised anywhere inside a method, turned into the 400 answer in one place (the app). `message`
    replaces the error table's text where real servers send another one (E2044's list, E2102's two forms)."""

    def __init__(self, error_no: str, extra: Mapping[str, Any] | None = None, message: str | None = None) -> None:
        super().__init__(error_no)
        self.error_no = error_no
        self.extra = dict(extra or {})
        self.message = message


def ok(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"code": 200, "message": "Ok"}, **fields}


def refusal(error: WsError) -> dict[str, Any]:
    message = error.message or error_message(error.error_no)
    return {"metadata": {"code": 400, "message": message, "error_no": error.error_no},
            **error.extra}
