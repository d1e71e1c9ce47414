"""The long-running commands set their start-up heap aside from the garbage collector (`startup.freeze_startup_heap`,
issue 17): `fhirclaim serve` before it serves and `fhirclaim worker` before it works, each in a process of its own
(freezing is for a whole process: it is never undone)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# Each script prints how many objects the collector had set aside when the command would start its work: waitress's
# loop (serve) and the first job (worker --once), both replaced by the print.
SERVE = """
    import gc
    from fhirclaim import server
    from fhirclaim.config import Settings

    listen = server._listen

    def listening(app, settings):
        running = listen(app, settings)
        running.run = lambda: print("frozen", gc.get_freeze_count(), flush=True)
        return running

    server._listen = listening
    server.serve_forever(Settings(data_dir={data_dir!r}, port=0, run_worker=False))
"""
WORKER = """
    import gc
    from fhirclaim import worker_process
    from fhirclaim.config import Settings

    worker_process.drain = lambda runtime, echo: print("frozen", gc.get_freeze_count(), flush=True)
    worker_process.run_workers(Settings(data_dir={data_dir!r}), once=True)
"""


def _frozen(script: str, tmp_path, database_url) -> int:
    env = {**os.environ, "FHIRCLAIM_DATABASE_URL": database_url}
    code = textwrap.dedent(script).format(data_dir=str(tmp_path / "d"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(next(line for line in done.stdout.splitlines() if line.startswith("frozen")).split()[1])


def test_serve_freezes_its_start_up_heap_before_it_serves(tmp_path, database_url):
    assert _frozen(SERVE, tmp_path, database_url) > 50_000  # the modules, models and tables, not a handful


def test_the_worker_freezes_its_start_up_heap_before_it_works(tmp_path, database_url):
    assert _frozen(WORKER, tmp_path, database_url) > 50_000
