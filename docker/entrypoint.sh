#!/bin/sh
# The image's entrypoint. With no arguments, or only options (passed on to gunicorn), it serves the app with
# gunicorn on 0.0.0.0:$FHIRCLAIM_PORT: ONE worker when the database is SQLite (FHIRCLAIM_DATABASE_URL unset or
# sqlite:…) — a single file takes one writing process well, not several — and FOUR on any other database
# (PostgreSQL), which the workers share (jobs with FOR UPDATE SKIP LOCKED). FHIRCLAIM_WORKERS overrides either,
# FHIRCLAIM_THREADS (8) the threads per worker. Anything else runs as given: `docker run IMAGE fhirclaim demo`.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  case "${FHIRCLAIM_DATABASE_URL:-sqlite}" in
    sqlite*) workers=${FHIRCLAIM_WORKERS:-1} ;;
    *) workers=${FHIRCLAIM_WORKERS:-4} ;;
  esac
  exec gunicorn --bind "0.0.0.0:${FHIRCLAIM_PORT:-8080}" --workers "$workers" --threads "${FHIRCLAIM_THREADS:-8}" \
    --timeout 60 --access-logfile - "$@" "fhirclaim.app:create_app()"
fi
exec "$@"
