"""FHIR operations of the claim facade: Claim/$submit (and its status), Claim/$precheck, Claim/{id}/$print,
Bundle/$verify-signature, and what the signatures are checked with (JWKS, trust anchors, CRL). Each is registered
by its key in the route table (`api.surface`, whose roles the view checks: `api.routing`); the claim operations
are done by `claims.claim_operations`, the handlers parse and reply. Their OperationDefinitions are
`fhirclaim/fhir/data/operations/*.json`."""

from __future__ import annotations

from flask import Blueprint, request

from fhirclaim.api.auth import authenticate
from fhirclaim.api.http import Reply, base_url, json_body
from fhirclaim.api.request_scope import fhir_service, runtime
from fhirclaim.api.routing import serve_on
from fhirclaim.claims import claim_operations
from fhirclaim.claims.claim_operations import SubmissionResult
from fhirclaim.fhir import jsonio, parameters
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.signing import verify_bundle

PEM = "application/x-pem-file"
blueprint = Blueprint("operations", __name__)
blueprint.before_request(authenticate)
serve = serve_on(blueprint)


@serve("submit")
def submit() -> Reply:
    """Store the Claim (or a transaction/collection Bundle holding it), run its job, answer within the limit."""
    body = json_body()
    return _submission_reply(claim_operations.submit(
        fhir_service, body, base_url(), settings_of=runtime().tenant_policy.claim_settings, pipeline=runtime().pipeline,
        wait_seconds=runtime().settings.submit_wait_seconds))


@serve("submit_status")
def submit_status(claim_id: str) -> Reply:
    return _submission_reply(claim_operations.submit_status(fhir_service, claim_id, base_url()))


@serve("precheck")
def precheck() -> Reply:
    body = json_body()
    return Reply(200, claim_operations.precheck(fhir_service, body, runtime().tenant_policy.claim_settings))


@serve("print_claim")
def print_claim(claim_id: str) -> Reply:
    pdf = claim_operations.print_claim(fhir_service, claim_id, runtime().tenant_policy.eklaim_gateway)
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


def _submission_reply(outcome: SubmissionResult) -> Reply:
    """200 with the result Bundle; 202 with the status URL while the claim's job runs."""
    if outcome.pending:
        status_url = f"{base_url()}/Claim/{outcome.claim_id}/$submit-status"
        return Reply(202, outcome.body, headers={"Content-Location": status_url, "Retry-After": "2"})
    return Reply(200, outcome.body)
