"""Stopping a served process cleanly, for `fhirclaim serve` and `fhirclaim eklaim-emulator` alike."""

from __future__ import annotations

import signal


def stop_on_signals() -> None:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) both raise KeyboardInterrupt in the main thread, which
    ends waitress's loop so the caller's cleanup runs. Set explicitly: SIGTERM would otherwise kill the process
    outright, and a shell starting the server in the background hands it SIGINT ignored."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.default_int_handler)
