"""Helpers of the claim pipeline tests: the example cases, writing them as a SIMRS would, reading what the
pipeline made of them (FHIR resources, jobs, E-Klaim's own records), E-Klaim outages, and a JWS check that uses
none of this project's signing code."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import rfc8785
import simplejson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from werkzeug.serving import make_server

from fhirclaim.claims.pipeline import derived_id
from fhirclaim.clock import naive_utc_now as utcnow
from fhirclaim.eklaim import EKlaimTransportError, crypto
from fhirclaim.eklaim.emulator.models import Claim as EKlaimClaim
from fhirclaim.eklaim.emulator.models import ClaimEvent
from fhirclaim.interactions import transaction
from fhirclaim.store.jobs import ClaimJobRow, ClaimJobStepRow, Job
from fhirclaim.store.repository import StoredResource

from testkit import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
GROUPED = ("01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn")
REJECTED = "05-precheck-rejected"
CODER_NIK = "3171012345670001"  # Practitioner/coder-ani, the enterer of every example Claim
CODER_NAME = "Ani Rahmawati, A.Md.RMIK"
SIMRS = "client:simrs"
BASE = "http://fhirclaim.test/fhir"
SUBMIT_STEPS = ["precheck", "new_claim", "set_claim_data", "grouper", "claim_final", "send_claim_individual", "sign",
                "publish"]


# --- the example cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One example case: its transaction Bundle and resources/ files, or a copy of them for another patient and SEP
    (`number`: every case-specific id and the SEP made unique; the shared Organization and Practitioners kept)."""

    name: str
    number: int | None = None

    @property
    def transaction(self) -> dict[str, Any]:
        return json.loads(self._text(EXAMPLES / self.name / "transaction.json"))

    def resources(self) -> list[dict[str, Any]]:
        """The case's resources/ files, in the order their names give (references point backwards)."""
        folder = EXAMPLES / self.name / "resources"
        return [json.loads(self._text(path)) for path in sorted(folder.glob("*.json"))]

    @property
    def claim(self) -> dict[str, Any]:
        return self.resources()[-1]

    @property
    def claim_id(self) -> str:
        return self.claim["id"]

    @property
    def sep(self) -> str:
        return self.claim["identifier"][0]["value"]

    def copy(self, number: int) -> Case:
        return Case(self.name, number)

    def _text(self, path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        if self.number is None:
            return text
        prefix = f"ex{self.name[1]}-"  # 02-hip-… → ex2-
        original_sep = json.loads((EXAMPLES / self.name / "transaction.json").read_text())["entry"][-1][
            "resource"]["identifier"][0]["value"]
        text = text.replace(prefix, f"{prefix}n{self.number}-")
        return text.replace(original_sep, original_sep[:-6] + f"{self.number:06d}")


def load_case(name: str) -> Case:
    return Case(name)


def without(resource: dict[str, Any], category: str) -> dict[str, Any]:
    """A copy of a Claim without the supportingInfo of one category."""
    claim = copy.deepcopy(resource)
    claim["supportingInfo"] = [s for s in claim.get("supportingInfo", [])
                               if all(c.get("code") != category for c in s["category"]["coding"])]
    return claim


def special_cmg_choice(resource: dict[str, Any], choice: str) -> dict[str, Any]:
    """A copy of a Claim naming a special CMG choice for grouper stage 2 (the SIMRS's answer to `partial`)."""
    claim = without(resource, "special-cmg")
    claim["supportingInfo"].append({
        "sequence": max(s["sequence"] for s in claim["supportingInfo"]) + 1,
        "category": {"coding": [{"system": "https://fhirclaim.org/fhir/CodeSystem/claim-information-category",
                                 "code": "special-cmg"}]},
        "valueString": choice})
    return claim


# --- writing as a SIMRS, reading what the server made ------------------------------------------------------------


def post_transaction(runtime, bundle: dict[str, Any]) -> dict[str, Any]:
    with runtime.store.unit_of_work() as uow:
        return transaction.process(runtime.fhir_service(uow, author=SIMRS), bundle, BASE)


def put(runtime, resource: dict[str, Any], *, if_match: int | None = None) -> StoredResource:
    """A client PUT through the FHIR service (with the server's interceptors and listeners, as over HTTP)."""
    with runtime.store.unit_of_work() as uow:
        stored, _ = runtime.fhir_service(uow, author=SIMRS).update(resource["resourceType"], resource["id"],
                                                                    resource, if_match=if_match)
    return stored


def read(runtime, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    with runtime.store.unit_of_work(write=False) as uow:
        stored = uow.resources.find(resource_type, resource_id)
    return stored.content if stored and not stored.deleted else None


def versions(runtime, resource_type: str, resource_id: str) -> list[StoredResource]:
    """Every version, oldest first."""
    with runtime.store.unit_of_work(write=False) as uow:
        page = uow.resources.history(resource_type, resource_id, count=1000)
    return sorted(page.versions, key=lambda v: v.version_id)


def grouping_response(runtime, claim_id: str) -> dict[str, Any] | None:
    return read(runtime, "ClaimResponse", derived_id("grouping", claim_id))


def signed_bundle(runtime, claim_id: str) -> dict[str, Any] | None:
    return read(runtime, "Bundle", derived_id("bundle", claim_id))


def package(claim: dict[str, Any]) -> dict[str, Any]:
    """The Kemenkes Package extension as {tariffClass, base: (code, value), additional: [(code, value)]}."""
    found = [e for e in claim.get("extension", []) if e["url"].endswith("/StructureDefinition/Package")]
    assert len(found) == 1, claim.get("extension")
    parts = found[0]["extension"]

    def line(part: dict[str, Any]) -> tuple[str, int]:
        values = {p["url"]: p for p in part["extension"]}
        return values["code"]["valueCodeableConcept"]["coding"][0]["code"], values["value"]["valueInteger"]

    return {
        "tariffClass": next(p for p in parts if p["url"] == "tariffClass")["valueCodeableConcept"]["coding"][0]["code"],
        "base": line(next(p for p in parts if p["url"] == "basePackage")),
        "additional": sorted(line(p) for p in parts if p["url"] == "additionalPackage"),
    }


def processing(claim: dict[str, Any]) -> str | None:
    return next((e["valueCode"] for e in claim.get("extension", []) if e["url"].endswith("/claim-processing")), None)


def totals(response: dict[str, Any]) -> dict[str, int]:
    return {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in response.get("total", [])}


# --- the queue ---------------------------------------------------------------------------------------------------


def run_jobs(runtime, worker: str = "test-worker") -> list[Job]:
    """Run every due job, one after the other, as one worker would."""
    ran = []
    while (job := runtime.pipeline.run_next(worker)) is not None:
        ran.append(job)
    return ran


def jobs_of(runtime, claim_id: str) -> list[ClaimJobRow]:
    with runtime.store.unit_of_work(write=False) as uow:
        rows = uow.session.execute(select(ClaimJobRow).where(ClaimJobRow.claim_id == claim_id)
                                   .order_by(ClaimJobRow.id)).scalars()
        return list(rows)


def steps_of(runtime, job_id: int) -> list[str]:
    """The steps recorded for a job, in the order they were done."""
    with runtime.store.unit_of_work(write=False) as uow:
        rows = uow.session.execute(select(ClaimJobStepRow).where(ClaimJobStepRow.job_id == job_id)
                                   .order_by(ClaimJobStepRow.done_at)).scalars()
        return [row.step for row in rows]


def all_steps(runtime) -> list[tuple[int, str]]:
    with runtime.store.unit_of_work(write=False) as uow:
        return [(r.job_id, r.step) for r in uow.session.execute(select(ClaimJobStepRow)).scalars()]


def time_passes(runtime, job_id: int) -> None:
    """The clock moves past the job's backoff and lease (instead of sleeping through them)."""
    past = utcnow() - timedelta(seconds=1)
    with runtime.store.unit_of_work() as uow:
        uow.session.execute(update(ClaimJobRow).where(ClaimJobRow.id == job_id)
                            .values(next_attempt_at=past, locked_until=past))


# --- E-Klaim's side ----------------------------------------------------------------------------------------------


def serve_wsgi(app) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI app on a free local port; the ws.php URL and a function stopping the server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return f"http://127.0.0.1:{server.server_port}/E-Klaim/ws.php", stop




class EKlaimLedger:
    """What an emulated E-Klaim holds, read from its own database: claims (deleted ones too) and their events."""

    def __init__(self, app) -> None:
        self.app = app

    def claims(self, sep: str) -> list[EKlaimClaim]:
        with self.app.store.transaction() as session:
            return list(session.scalars(select(EKlaimClaim).where(EKlaimClaim.nomor_sep == sep)
                                        .order_by(EKlaimClaim.id)))

    def events(self, sep: str) -> list[str]:
        """The methods that changed the SEP's claim, in order (refused calls leave none)."""
        with self.app.store.transaction() as session:
            query = (select(ClaimEvent.method).join(EKlaimClaim, ClaimEvent.claim_id == EKlaimClaim.id)
                     .where(EKlaimClaim.nomor_sep == sep).order_by(ClaimEvent.id))
            return list(session.scalars(query))


class FlakyTransport:
    """E-Klaim going down and coming back (the one allowed stand-in: a failure we inject).

    From the `n`th call of `method` (counted from `down_at`) on, every call fails until `restore()`:
    `lost="request"` — EKlaimTransportError, the request never reached E-Klaim; `lost="answer"` — E-Klaim did the
    work and the answer was lost on the way back; `lost="bug"` — our own code fails (RuntimeError), not E-Klaim.
    Every call is counted by method (the body is decrypted with the key to read it).
    """

    def __init__(self, inner, key_hex: str) -> None:
        self.inner = inner
        self.key_hex = key_hex
        self.calls: Counter[str] = Counter()
        self.failed: list[str] = []
        self._trigger: tuple[str, int, str] | None = None
        self._down: str | None = None
        self._lock = threading.Lock()
        self._hold: str | None = None
        self.holding = threading.Event()  # set while a held call waits
        self._released = threading.Event()

    def down_at(self, method: str, n: int = 1, lost: str = "request") -> None:
        """E-Klaim goes down at the `n`th call of `method` from now on."""
        assert lost in ("request", "answer", "bug")
        with self._lock:
            self._trigger = (method, self.calls[method] + n, lost)

    def restore(self) -> None:
        self._trigger = self._down = None

    def hold_at(self, method: str) -> None:
        """The next call of `method` waits (E-Klaim is slow) until `release()`, then goes on (with the outage, if
        one is set)."""
        self._hold = method
        self._released.clear()

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        method = json.loads(body if debug else crypto.decrypt(body, self.key_hex))["metadata"]["method"]
        with self._lock:
            self.calls[method] += 1
            if self._trigger and self._trigger[:2] == (method, self.calls[method]):
                self._down = self._trigger[2]
            lost = self._down
            held = self._hold == method
            if held:
                self._hold = None  # one call waits; the others (another worker's) go through
        if held:
            self.holding.set()
            assert self._released.wait(60), "the test never released the held E-Klaim call"
            self.holding.clear()
        if lost == "answer":
            self.inner.post(body, debug=debug)
        if lost == "bug":
            self.failed.append(method)
            raise RuntimeError(f"injected: a bug while calling {method}")
        if lost:
            self.failed.append(method)
            raise EKlaimTransportError(f"injected: E-Klaim unreachable ({method}, {lost} lost)", retryable=True)
        return self.inner.post(body, debug=debug)


# --- signatures, checked without this project's signing code ------------------------------------------------------


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_independently(bundle: dict[str, Any]) -> dict[str, Any]:
    """Check Bundle.signature as a third party would: the Bundle as JSON text parsed by the standard library,
    RFC 8785 bytes by the `rfc8785` package, the detached JWS re-attached (RFC 7515 Appendix F) and verified by
    PyJWT with the key of the x5c certificate. Returns the protected header; raises when the signature is bad."""
    received = json.loads(simplejson.dumps(bundle))
    compact = base64.b64decode(received["signature"]["data"]).decode("ascii")
    header_b64, payload, signature_b64 = compact.split(".")
    assert payload == "", "the JWS must be detached"
    header = json.loads(_b64url_decode(header_b64))
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    public_pem = certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    signed = rfc8785.dumps({k: v for k, v in received.items() if k not in ("id", "meta", "signature")})
    attached = f"{header_b64}.{base64.urlsafe_b64encode(signed).rstrip(b'=').decode()}.{signature_b64}"
    assert jwt.api_jws.decode(attached, public_pem, algorithms=[header["alg"]]) == signed
    return header


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- comparing outcomes ------------------------------------------------------------------------------------------

_VOLATILE = frozenset({"meta", "created", "timestamp", "signature"})
_EKLAIM_VOLATILE = frozenset({"patient_id", "admission_id", "hospital_admission_id", "kemenkes_dc_sent_dttm"})


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def outcome(runtime, case: Case, original: Case) -> str:
    """What the server and E-Klaim made of `case` (a copy of `original`), in `original`'s ids and SEP and without
    what differs between any two runs (meta, timestamps, signature bytes, E-Klaim's row numbers): two ways of
    sending the same case must give equal texts."""
    record = runtime.tenant_policy.eklaim_gateway(None).client.get_claim_data(case.sep)
    document = {
        "claim": read(runtime, "Claim", case.claim_id),
        "response": grouping_response(runtime, case.claim_id),
        "bundle": signed_bundle(runtime, case.claim_id),
        "eklaim": {k: v for k, v in record.data.items() if k not in _EKLAIM_VOLATILE},
    }
    text = simplejson.dumps(_strip(document), sort_keys=True)
    for kind in ("grouping", "bundle"):
        text = text.replace(derived_id(kind, case.claim_id), f"<{kind}-id>")
    prefix = original.claim_id.split("-", 1)[0] + "-"
    return text.replace(case.claim_id.split("claim")[0], prefix).replace(case.sep, original.sep)


def with_principal_diagnosis(resource: dict[str, Any], code: str, display: str) -> dict[str, Any]:
    """A copy of a Claim whose principal diagnosis (sequence 1) is another ICD-10 code: clinical content changed."""
    claim = copy.deepcopy(resource)
    claim.pop("meta", None)
    first = next(d for d in claim["diagnosis"] if d["sequence"] == 1)
    first["diagnosisCodeableConcept"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code,
                                                     "display": display}]}
    return claim


def with_status(resource: dict[str, Any], status: str) -> dict[str, Any]:
    claim = copy.deepcopy(resource)
    claim.pop("meta", None)
    claim["status"] = status
    return claim


def leaf_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every scalar inside `value`."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in leaf_paths(item, (*path, index))]
    return [path]


def one_byte_changed(value: Any) -> Any:
    """The smallest change of a scalar: one bit of a string's last character, a number + 1, the other boolean."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return value + 1
    return value[:-1] + chr(ord(value[-1]) ^ 1) if value else "x"


def get_at(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


def set_at(document: Any, path: tuple, value: Any) -> None:
    get_at(document, path[:-1])[path[-1]] = value
