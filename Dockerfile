# fhirclaim — production image: granian serving the app factory from a virtual environment, as a non-root user.
# Build: docker build -t fhirclaim .
#        docker build --build-arg BASE_IMAGE=fhirclaim-base:bookworm -t fhirclaim .   (any base with python3 -m venv,
#        e.g. Debian's python3 + python3-venv: .ci/docker_smoke.sh makes one with debootstrap, no registry needed)
# Run:   docker run -p 8080:8080 -v fhirclaim-data:/data fhirclaim                       (SQLite in /data, 1 worker)
#        docker run -p 8080:8080 -v fhirclaim-data:/data \
#          -e FHIRCLAIM_DATABASE_URL=postgresql+psycopg://user:pass@db/fhirclaim fhirclaim  (PostgreSQL, 4 workers)
#        docker run --rm fhirclaim fhirclaim demo            docker exec CONTAINER fhirclaim clients add …
# compose.yaml runs it beside PostgreSQL.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# PATH is spelled out: an imported base (docker import) has none to extend. The venv comes first, so `python`,
# `pip`, `granian` and `fhirclaim` are its own on every base (Debian's python3 refuses system-wide pip, PEP 668).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    FHIRCLAIM_DATA_DIR=/data \
    FHIRCLAIM_HOST=0.0.0.0 \
    FHIRCLAIM_PORT=8080

RUN groupadd --system fhirclaim && useradd --system --gid fhirclaim --home-dir /data --shell /usr/sbin/nologin fhirclaim \
    && mkdir -p /data && chown fhirclaim:fhirclaim /data

# The dependencies first, from setup.cfg alone, so that a change of the code (or of README.md) reuses this layer.
WORKDIR /src
COPY setup.cfg ./
RUN python3 -m venv /opt/venv \
    && python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); \
print(c['options']['install_requires'] + c['options.extras_require']['production'])" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

COPY pyproject.toml README.md ./
COPY fhirclaim ./fhirclaim
COPY profiles ./profiles
COPY examples ./examples
RUN pip install ".[production]" && rm -rf build fhirclaim.egg-info
COPY docker/entrypoint.sh /usr/local/bin/fhirclaim-entrypoint

# Not /src: there `import fhirclaim` would find the source tree, which lacks fhirclaim.profiles and .examples.
WORKDIR /data
USER fhirclaim
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/fhir/metadata' % os.environ.get('FHIRCLAIM_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"

# No arguments: granian, one worker on SQLite, four on PostgreSQL (docker/entrypoint.sh); any command runs as given.
ENTRYPOINT ["/bin/sh", "/usr/local/bin/fhirclaim-entrypoint"]
CMD []
