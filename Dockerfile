# fhirclaim — production image: gunicorn serving the app factory, as a non-root user.
# Build: docker build -t fhirclaim .
# Run:   docker run -p 8080:8080 -v fhirclaim-data:/data \
#          -e FHIRCLAIM_DATABASE_URL=postgresql+psycopg://user:pass@db/fhirclaim fhirclaim
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FHIRCLAIM_DATA_DIR=/data \
    FHIRCLAIM_HOST=0.0.0.0 \
    FHIRCLAIM_PORT=8080

RUN groupadd --system fhirclaim && useradd --system --gid fhirclaim --home-dir /data --shell /usr/sbin/nologin fhirclaim \
    && mkdir -p /data && chown fhirclaim:fhirclaim /data

WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY fhirclaim ./fhirclaim
COPY profiles ./profiles
COPY examples ./examples
RUN pip install ".[production]"

USER fhirclaim
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/fhir/metadata', timeout=4).status == 200 else 1)"

# Several workers share one PostgreSQL database; on SQLite keep a single worker.
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "--threads", "8", "--timeout", "60", \
     "--access-logfile", "-", "fhirclaim.app:create_app()"]
