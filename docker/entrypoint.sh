#!/bin/sh
# The image's entrypoint. With no arguments, or only options (passed on to granian), it serves the app factory with
# granian (its HTTP side is Rust; the app runs in its worker processes) on $FHIRCLAIM_HOST:$FHIRCLAIM_PORT (the
# image's 0.0.0.0:8080): ONE worker when the database is SQLite (FHIRCLAIM_DATABASE_URL unset or sqlite:…) — a
# single file takes one writing process well, not several — and FOUR on any other database (PostgreSQL), which the
# workers share (jobs with FOR UPDATE SKIP LOCKED). FHIRCLAIM_WORKERS overrides either, FHIRCLAIM_THREADS (8) the
# threads per worker that run the app. A worker that dies ends the server, the failed start of one (an unreachable
# database) included: the container's restart policy starts it again, with Docker's backoff, where granian's own
# respawning would start failing workers again at once and without end. On SIGTERM (`docker stop`) each worker
# finishes what it holds and closes its Runtime; one still building the app when the signal came misses it (it has
# no handler of its own yet), so a worker not stopped after 10 s is killed, not waited for. The app writes its own
# access log (JSON lines), so granian's stays off. Anything else runs as given: `docker run IMAGE fhirclaim demo`.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  case "${FHIRCLAIM_DATABASE_URL:-sqlite}" in
    sqlite*) workers=${FHIRCLAIM_WORKERS:-1} ;;
    *) workers=${FHIRCLAIM_WORKERS:-4} ;;
  esac
  exec granian --interface wsgi --factory --host "${FHIRCLAIM_HOST:-0.0.0.0}" --port "${FHIRCLAIM_PORT:-8080}" \
    --workers "$workers" --blocking-threads "${FHIRCLAIM_THREADS:-8}" --workers-kill-timeout 10 --no-ws \
    "$@" fhirclaim.app:create_app
fi
exec "$@"
