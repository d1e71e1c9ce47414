"""FHIR operations of the claim facade: Claim/$submit (and its status), Claim/$precheck, Claim/{id}/$print,
Bundle/$verify-signature, and what the signatures are checked with (JWKS, trust anchors, CRL). Each is registered
by its key in the route table (`api.surface`); their OperationDefinitions are
`fhirclaim/fhir/data/operations/*.json`."""

from __future__ import annotations

import threading
import time

from flask import Blueprint, request

from fhirclaim.api.auth import authenticate
from fhirclaim.api.fhir_rest import serve_on
from fhirclaim.api.http import Reply, base_url, json_body
from fhirclaim.api.request_scope import fhir_service, require_role, runtime
from fhirclaim.auth.principal import HOSPITAL_ROLES
from fhirclaim.claims import claim_operations
from fhirclaim.fhir import jsonio, parameters, validation
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions import transaction
from fhirclaim.signing import verify_bundle
from fhirclaim.store import jobs

PEM = "application/x-pem-file"
blueprint = Blueprint("operations", __name__)
blueprint.before_request(authenticate)
serve = serve_on(blueprint)


@serve("submit")
def submit() -> Reply:
    """Store the Claim (or a transaction/collection Bundle holding it), run its job, answer within the limit."""
    require_role(*HOSPITAL_ROLES)
    body = json_body()
    with fhir_service(write=True) as service:
        claim = _store_submission(service, body)
        zone = runtime().tenant_policy.claim_settings(service.uow.scope.tenant).timezone
        job = claim_operations.resubmit(service.uow, claim["id"], zone).job  # a changed failed claim reruns
    if job is not None and job.status not in jobs.TERMINAL:
        _run_with_deadline(job.id, runtime().settings.submit_wait_seconds)
    return _submission_reply(claim["id"])


@serve("submit_status")
def submit_status(claim_id: str) -> Reply:
    require_role(*HOSPITAL_ROLES)
    return _submission_reply(claim_id)


@serve("precheck")
def precheck() -> Reply:
    require_role(*HOSPITAL_ROLES)
    claim = json_body()
    if claim.get("resourceType") == "Claim":  # the prechecks read a well-formed Claim: its shape is checked first
        validation.raise_for_errors(validation.model_issues("Claim", claim), status=400)
    with fhir_service(write=False) as service:
        return Reply(200, claim_operations.precheck_outcome(service.uow, claim, runtime().tenant_policy.claim_settings(
            service.uow.scope.tenant)))


@serve("print_claim")
def print_claim(claim_id: str) -> Reply:
    require_role(*HOSPITAL_ROLES)
    with fhir_service(write=False) as service:
        claim = service.read("Claim", claim_id).content
    pdf = claim_operations.print_claim(runtime().tenant_policy.eklaim_gateway(service.uow.scope.tenant), claim)
    return Reply(200, body=pdf, content_type="application/pdf",
                 headers={"Content-Disposition": f'inline; filename="klaim-{claim_id}.pdf"'})


@serve("verify_signature")
def verify_signature() -> Reply:
    bundle = json_body()
    trusted = _boolean("trusted", request.args.get("trusted"), default=True)
    if bundle.get("resourceType") == "Parameters":
        given = parameters.named(bundle, "trusted")
        bundle = parameters.resource(bundle)
        if given is not None:
            trusted = given.get("valueBoolean") is not False
    # Always against the trust anchors (this installation's CA, those an admin added) and its CRL; trusted=false
    # asks for the integrity verdict alone, which then says the signer is unproven.
    result = verify_bundle(jsonio.plain(bundle), trust=runtime().signing.trust_policy(), integrity_only=not trusted)
    return Reply(200, result.to_operation_outcome())


@serve("jwks")
def jwks() -> Reply:
    return Reply(200, body=jsonio.dumps(runtime().signing.jwks()).encode(), content_type="application/jwk-set+json")


@serve("trust_anchors")
def trust_anchors() -> Reply:
    """The CA certificates a Bundle's x5c chain must end at: what BPJS-K keeps to verify offline."""
    return Reply(200, body=runtime().signing.trust_anchors_pem(), content_type=PEM)


@serve("signing_crl")
def signing_crl() -> Reply:
    """The installation CA's revocation list: hospital certificates revoked, and since when."""
    return Reply(200, body=runtime().signing.authority.crl_pem(), content_type=PEM)


# --- helpers ------------------------------------------------------------------------------------------------


def _boolean(name: str, value: str | None, default: bool = False) -> bool:
    if value in (None, ""):
        return default
    if value in ("true", "false"):
        return value == "true"
    raise FhirError.of(400, "value", f"{name} must be true or false, not {value[:32]!r}", name)


def _store_submission(service, body: dict) -> dict:
    if body.get("resourceType") == "Claim":
        if body.get("id"):  # the SIMRS's own id is kept (update-as-create), as the Bundle form's PUT keeps it
            stored, _ = service.update("Claim", body["id"], body)
        else:
            stored, _ = service.create(body, expected_type="Claim")
        return stored.content
    if body.get("resourceType") == "Bundle" and body.get("type") in ("transaction", "collection"):
        _check_entries(body)
        bundle = claim_operations.as_transaction(body)
        answer = transaction.process(service, bundle, base_url())
        return claim_operations.claim_of(service, answer)
    raise FhirError.of(400, "invalid", "Claim/$submit takes a Claim, or a transaction or collection Bundle with one")


def _check_entries(bundle: dict) -> None:
    """The shape `claim_operations.as_transaction` reads: `entry` an array of objects, each `resource` an object."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError.of(400, "structure", "Bundle.entry must be an array", "Bundle.entry")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource", {}), dict):
            raise FhirError.of(400, "structure", f"Bundle.entry[{index}] must be an object with a resource",
                               f"Bundle.entry[{index}]")


def _run_with_deadline(job_id: int, seconds: float) -> None:
    """Run the job here unless a worker has it already, and wait at most `seconds` for it to end (the answer is
    then 202 with a status URL). A job put back for a later retry (E-Klaim unreachable) is not waited for."""
    deadline = time.monotonic() + seconds
    here = threading.Thread(target=runtime().pipeline.run_next, args=(f"submit-{job_id}", job_id), daemon=True)
    here.start()
    here.join(seconds)
    while time.monotonic() < deadline:
        status = _job_status(job_id)
        if status in jobs.TERMINAL or (status == jobs.QUEUED and not here.is_alive()):
            return
        time.sleep(0.05)  # another worker holds the job


def _job_status(job_id: int) -> str | None:
    with runtime().store.unit_of_work(write=False) as uow:
        job = uow.jobs.get(job_id)
    return job.status if job else None


def _submission_reply(claim_id: str) -> Reply:
    with fhir_service(write=False) as service:
        outcome = claim_operations.result(service, claim_id, base_url())
    if outcome.pending:
        status_url = f"{base_url()}/Claim/{claim_id}/$submit-status"
        return Reply(202, outcome.body, headers={"Content-Location": status_url, "Retry-After": "2"})
    return Reply(200, outcome.body)
