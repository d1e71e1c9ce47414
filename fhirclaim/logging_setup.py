"""Structured logs: one JSON object per line, with the request id when there is one.

Secrets never reach a log record by construction (keys and tokens are not passed to loggers), and patient
names are not logged: records carry resource references, not content.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time

_STANDARD = frozenset(vars(logging.makeLogRecord({})))
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)  # `json.dumps(..., default=str, ensure_ascii=False)`


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", <the record's extra fields>, "error"}` on one line. Every request
    writes one (the access log), so it is kept cheap: the time's date and second are formatted once a second, the
    extra fields are the record's attributes less a standard record's, the encoder is built once."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self._time(record.created), "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        fields = vars(record)
        if fields.keys() - _STANDARD:  # the extra fields, in the order they were given
            for key in [key for key in fields if key not in _STANDARD and not key.startswith("_")]:
                entry[key] = fields[key]
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)

    def _time(self, created: float) -> str:
        """`2026-12-03T17:47:25.123+00:00`: UTC, milliseconds (as `datetime.isoformat(timespec="milliseconds")`)."""
        fraction, whole = math.modf(created)  # rounded to the microsecond as `datetime.fromtimestamp` rounds it
        second, micro = int(whole), round(fraction * 1e6)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        cached = self._second  # one read: another thread may replace it meanwhile
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{micro // 1000:03d}+00:00"


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("waitress").setLevel("WARNING")
    # What JsonFormatter never writes is not gathered for each record either (the logging HOWTO's "Optimization"):
    # the calling function's file and line, the thread, the process and its name.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
