#!/usr/bin/env bash
# Docker smoke test, no registry needed: on a Debian bookworm machine (as root), install Docker and debootstrap if
# missing, start dockerd if none answers, make a local base image from Debian packages (python3, python3-venv), build
# the Dockerfile on it, run the image (SQLite, granian), wait for its HEALTHCHECK, make a facility client with
# `docker exec … fhirclaim clients add`, post examples/01-outpatient-visit as a transaction and check the CBG the
# pipeline groups it into against examples/expected-results.json. Idempotent: the base image, the build cache and an
# already running daemon are reused; the container (and a daemon started here) go at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || exec sudo --preserve-env bash "$0" "$@"

SUITE=bookworm
BASE_IMAGE=${FHIRCLAIM_DOCKER_BASE_IMAGE:-fhirclaim-base:$SUITE}
IMAGE=${FHIRCLAIM_DOCKER_IMAGE:-fhirclaim:ci}
CASE=01-outpatient-visit
ORG=10000004  # the example hospital's SATUSEHAT organization (examples/README.md)

log() { printf '\n--- docker smoke: %s ---\n' "$*"; }
fail() { echo "docker smoke: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/fhirclaim-docker.XXXXXX)
DOCKERD_PID=""
CONTAINER=""
ROOTFS=""
cleanup() {
  local status=$?
  if [ -n "$CONTAINER" ]; then
    if [ $status -ne 0 ]; then
      echo "--- container logs (last 80 lines) ---"; docker logs --tail 80 "$CONTAINER" 2>&1 || true
    fi
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  fi
  if [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ]; then  # a debootstrap that failed half-way may leave /proc, /sys mounted
    grep -o " $ROOTFS/[^ ]*" /proc/mounts | sort -r | xargs -r -n 1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$ROOTFS"
  fi
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

# --- Docker and debootstrap (Debian packages) -------------------------------------------------------------------
MISSING=()
command -v dockerd >/dev/null 2>&1 || MISSING+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || MISSING+=(debootstrap)
if [ ${#MISSING[@]} -gt 0 ]; then
  log "installing ${MISSING[*]} (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi

# --- a Docker daemon: the one that answers, else one started here (stopped at exit) -----------------------------
# Plain `dockerd` first (bridge network, iptables); where the kernel or the sandbox has neither, dockerd refuses to
# start, and the second try goes without (containers then use the host's network).
start_dockerd() {
  dockerd "$@" >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 1
  done
  echo "--- dockerd $* did not come up; its log (last 20 lines) ---"; tail -n 20 "$WORK/dockerd.log"
  kill "$DOCKERD_PID" 2>/dev/null || true; wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=""
  return 1
}
NETWORK=()  # the docker network for build and run; (--network host) where the bridge cannot reach PyPI
if docker info >/dev/null 2>&1; then
  log "using the Docker daemon that answers ($(docker version --format '{{.Server.Version}}'))"
else
  log "starting dockerd (log: $WORK/dockerd.log)"
  start_dockerd || { start_dockerd --iptables=false --bridge=none && NETWORK=(--network host); } \
    || fail "dockerd does not start"
fi

# --- the base image: Debian bookworm's python3 from the machine's own Debian mirror -----------------------------
debian_mirror() {
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
           grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } \
         | grep -E '/debian/?$' | grep -v security | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE exists"
else
  MIRROR=$(debian_mirror)
  log "building base image $BASE_IMAGE: debootstrap --variant=minbase $SUITE from $MIRROR"
  ROOTFS=$(mktemp -d /tmp/fhirclaim-rootfs.XXXXXX)
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$ROOTFS" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log"; fail "debootstrap failed"; }
  # The machine's own extra CAs (an egress or company proxy's), so pip in the image reaches PyPI where the host does.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
    chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates failed in the base"
  fi
  # No apt lists or package cache, no documentation, manual pages or translations (about 50 MB)
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
  tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf --one-file-system "$ROOTFS"; ROOTFS=""
fi

# The build installs from PyPI, with pip's defaults: nothing of this machine's pip configuration (an extra index,
# find-links, constraints) is in the image. Can the containers reach PyPI on the default network?
if [ ${#NETWORK[@]} -eq 0 ] && ! docker run --rm "$BASE_IMAGE" python3 -c \
    "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=20)" >/dev/null 2>&1; then
  echo "the default network does not reach PyPI: build and run with --network host"
  NETWORK=(--network host)
fi

# --- the image ------------------------------------------------------------------------------------------------------
log "docker build --build-arg BASE_IMAGE=$BASE_IMAGE -t $IMAGE . ${NETWORK[*]}"
B0=$(date +%s)
docker build "${NETWORK[@]}" --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log"; fail "docker build failed"; }
BUILD_SECONDS=$(( $(date +%s) - B0 ))
echo "built in ${BUILD_SECONDS}s ($(grep -c 'Using cache' "$WORK/build.log" || true) steps from the cache)"
docker image ls "$IMAGE"

# --- run it, on SQLite, on a free port ------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ ${#NETWORK[@]} -gt 0 ]; then
  PUBLISH=(--network host -e FHIRCLAIM_PORT="$PORT")
else
  PUBLISH=(-p "127.0.0.1:$PORT:8080")
fi
log "docker run $IMAGE on 127.0.0.1:$PORT"
R0=$(date +%s)
CONTAINER=$(docker run -d "${PUBLISH[@]}" --health-interval=2s --health-start-period=5s "$IMAGE")
for _ in $(seq 1 90); do
  HEALTH=$(docker inspect --format '{{.State.Health.Status}}' "$CONTAINER")
  [ "$HEALTH" = healthy ] && break
  [ "$(docker inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] || fail "the container exited"
  sleep 2
done
[ "$HEALTH" = healthy ] || fail "not healthy after 180 s: $HEALTH"
WORKERS=$(docker top "$CONTAINER" -o pid,args | grep -c '[g]ranian' || true)
echo "healthy after $(( $(date +%s) - R0 ))s; granian processes: $WORKERS (main + 1 worker on SQLite)"
[ "$WORKERS" = 2 ] || fail "expected granian's main process + 1 worker on SQLite, found $WORKERS processes"

# --- a facility client, a token, the example's transaction, its CBG ---------------------------------------------------
log "posting examples/$CASE/transaction.json as the facility client of organization $ORG"
CLIENT=$(docker exec "$CONTAINER" fhirclaim clients add --role facility --org "$ORG" --name docker-smoke --json)
python3 - "http://127.0.0.1:$PORT" "$CLIENT" "examples/$CASE/transaction.json" examples/expected-results.json "$CASE" \
  <<'PY'
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, client, bundle_path, expected_path, case = sys.argv[1:6]
expected = json.load(open(expected_path))["cases"][case]
PACKAGE = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


status, token = call("POST", "/oauth2/v1/accesstoken?grant_type=client_credentials",
                     urllib.parse.urlencode(json.loads(client)).encode(),
                     {"Content-Type": "application/x-www-form-urlencoded"})
assert status == 200, f"token: {status} {token}"
auth = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/fhir+json"}

bundle = json.load(open(bundle_path))
status, answer = call("POST", "/fhir", json.dumps(bundle).encode(), auth)
assert status == 200 and answer.get("type") == "transaction-response", f"transaction: {status} {answer}"
print(f"transaction: {len(answer['entry'])} entries,",
      ", ".join(sorted({entry["response"]["status"] for entry in answer["entry"]})))

# Storing the Claim starts the pipeline in the background: wait for the Package extension it adds to the Claim.
claim_id = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
deadline = time.monotonic() + 120
while True:
    status, claim = call("GET", f"/fhir/Claim/{claim_id}", headers=auth)
    assert status == 200, f"Claim/{claim_id}: {status} {claim}"
    package = next((e for e in claim.get("extension", []) if e.get("url") == PACKAGE), None)
    if package or time.monotonic() > deadline:
        break
    time.sleep(1)
assert package, f"Claim/{claim_id} has no Package extension after 120 s: {json.dumps(claim)[:1500]}"
parts = {p["url"]: p for p in next(p for p in package["extension"] if p["url"] == "basePackage")["extension"]}
cbg, tariff = parts["code"]["valueCodeableConcept"]["coding"][0]["code"], parts["value"]["valueInteger"]

status, found = call("GET", f"/fhir/ClaimResponse?request=Claim/{claim_id}", headers=auth)
outcomes = [e["resource"].get("outcome") for e in (found or {}).get("entry", [])]
print(f"Claim/{claim_id}: CBG {cbg} Rp {tariff:,}, grouping outcome {outcomes}"
      f" (expected {expected['cbg']} Rp {expected['packages'][expected['cbg']]:,}, {expected['outcome']})")
assert cbg == expected["cbg"] and tariff == expected["packages"][cbg], "not the expected CBG"
assert expected["outcome"] in outcomes, "not the expected grouping outcome"
PY

SIZE=$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')
log "passed: image $SIZE, build ${BUILD_SECONDS}s, all ${SECONDS}s"
