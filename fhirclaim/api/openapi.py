"""The OpenAPI 3.0 document of the server (`GET /openapi.json`), generated from the route table (`api.surface`):
one operation per table entry, its path parameters, query and header parameters, request body and answers.

A plain function of the table and the server's root URL; FHIR resources are described loosely (a JSON object with
a `resourceType`): their real definitions are the FHIR specification's, this server's profiles and
OperationDefinitions, which the CapabilityStatement names.
"""

from __future__ import annotations

from typing import Any

from fhirclaim import __version__
from fhirclaim.api import surface
from fhirclaim.api.surface import Endpoint, Param
from fhirclaim.interactions import capability

OPENAPI_VERSION = "3.0.3"
FHIR_TYPES = ("application/fhir+json", "application/json")
FHIR_ID = "^[A-Za-z0-9\\-.]{1,64}$"

TAGS = {
    "discovery": ("Discovery", "What this server is and offers: no token needed."),
    "fhir": ("FHIR REST", "FHIR R4 interactions on the stored resource types (JSON only)."),
    "operations": ("Claim operations", "JKN claims: submit to E-Klaim, precheck, result, printout."),
    "signatures": ("Signatures", "The signed claim Bundles: verify one, the public keys."),
    "oauth2": ("OAuth2", "Client credentials (SATUSEHAT's shape): an access token, revocation."),
    "admin": ("Administration", "OAuth2 clients, per-hospital settings, webhook outbox (admin clients only)."),
}

DESCRIPTION = """\
A FHIR-native claim facade for Indonesia's national health insurance (JKN / BPJS Kesehatan). Hospital systems
(SIMRS) send FHIR R4 resources (Coverage, Account, ChargeItem, Invoice, Claim, ClaimResponse and the non-FHIR
PurificationDecision); the server turns each Claim into the calls of the Kemenkes E-Klaim web service (INA-CBG
grouping, finalisation, sending), emits a digitally signed Bundle for BPJS Kesehatan and delivers BPJS-K's answers
back by webhook.

**Authentication.** OAuth2 client credentials: `POST /oauth2/v1/accesstoken?grant_type=client_credentials` with
`client_id` and `client_secret` (form fields or HTTP Basic), then `Authorization: Bearer <token>` on every request
but the discovery ones (`Authorize` above does this here). What a client sees and writes follows its role:
`facility` and `eklaim` their hospital's data, `bpjs` what hospitals disclosed to BPJS-K, `admin` everything.

**The claim flow.** (1) The hospital posts Patient, Encounter, Coverage, Account, ChargeItems, Invoice and a Claim,
as one transaction Bundle or one by one, or all at once with `Claim/$submit`. (2) The pipeline prechecks the
claim, sends it to E-Klaim, groups it, finalises it and signs and publishes a Bundle. (3) The Claim gains the
INA-CBG package; a ClaimResponse of subType `grouping` says the outcome. (4) BPJS-K reads the signed Bundle,
verifies it (`Bundle/$verify-signature`) and posts a ClaimResponse `purifikasi`. (5) The hospital answers with a
`PurificationDecision`. (6) BPJS-K posts the `verifikasi` ClaimResponse. Each answer reaches the hospital by webhook
(`Subscription`).

Errors are FHIR OperationOutcomes, except the OAuth2 endpoints' `{"error", "error_description"}`. The
CapabilityStatement (`/fhir/metadata`) lists per resource type the interactions and search parameters; the
OperationDefinitions of the custom operations are at `/fhir/OperationDefinition/{id}`.
"""

PATH_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "resource_id": ("the resource's logical id", {"type": "string", "pattern": FHIR_ID}),
    "claim_id": ("the Claim's logical id", {"type": "string", "pattern": FHIR_ID}),
    "version": ("a versionId (meta.versionId)", {"type": "string", "pattern": "^[0-9]+$"}),
    "filename": ("a file of the Swagger UI distribution", {"type": "string"}),
    "client_id": ("an OAuth2 client id", {"type": "string"}),
    "tenant": ("a hospital's organization id (the tenant)", {"type": "string"}),
    "delivery_id": ("a webhook delivery id", {"type": "integer"}),
}


def _fhir_content(schema: str) -> dict[str, Any]:
    return {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for media in FHIR_TYPES}


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/x-www-form-urlencoded": {"schema": schema}}


BODIES: dict[str, dict[str, Any]] = {
    "resource": {"description": "The resource (FHIR JSON)", "content": _fhir_content("Resource")},
    "bundle": {"description": "A transaction or batch Bundle", "content": _fhir_content("Bundle")},
    "claim": {"description": "The Claim, bare", "content": _fhir_content("Resource")},
    "claim-or-bundle": {"description": "The Claim, or a transaction or collection Bundle holding it and the "
                                       "resources it rests on", "content": _fhir_content("Resource")},
    "resource-or-parameters": {"description": "The resource, bare or as the Parameters parameter `resource`",
                               "content": _fhir_content("Resource")},
    "bundle-or-parameters": {"description": "The signed Bundle, bare or as the Parameters parameter `resource`",
                             "content": {media: {"schema": {"anyOf": [{"$ref": "#/components/schemas/Bundle"},
                                                                      {"$ref": "#/components/schemas/Parameters"}]}}
                                         for media in FHIR_TYPES}},
    "patch": {"description": "A JSON Patch (RFC 6902), or a JSON merge patch (RFC 7386)", "content": {
        "application/json-patch+json": {"schema": {"$ref": "#/components/schemas/JsonPatch"}},
        "application/merge-patch+json": {"schema": {"type": "object"}}}},
    "form-search": {"description": "Search parameters", "content": _form(
        {"type": "object", "additionalProperties": {"type": "string"}})},
    "form-token": {"description": "The client's credentials (or HTTP Basic)", "content": _form(
        {"$ref": "#/components/schemas/TokenRequest"})},
    "form-revoke": {"description": "The token to revoke", "content": _form(
        {"$ref": "#/components/schemas/RevokeRequest"})},
    "json": {"description": "A JSON object", "content": {"application/json": {"schema": {"type": "object"}}}},
}


def _answer(description: str, media: str | tuple[str, ...] | None, schema: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    if media is None:
        return {"description": description}
    medias = (media,) if isinstance(media, str) else media
    return {"description": description, "content": {m: {"schema": schema or {}} for m in medias}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ANSWERS: dict[str, dict[str, Any]] = {
    "resource": _answer("The resource", FHIR_TYPES[0], _ref("Resource")),
    "bundle": _answer("A Bundle", FHIR_TYPES[0], _ref("Bundle")),
    "outcome": _answer("An OperationOutcome", FHIR_TYPES[0], _ref("OperationOutcome")),
    "capabilities": _answer("The CapabilityStatement", FHIR_TYPES[0], _ref("Resource")),
    "submission": _answer("The result: a collection Bundle (grouping ClaimResponse, Claim, signed Bundle)",
                          FHIR_TYPES[0], _ref("Bundle")),
    "pdf": _answer("The PDF", "application/pdf", {"type": "string", "format": "binary"}),
    "jwks": _answer("A JWK Set", "application/jwk-set+json", _ref("JWKS")),
    "pem": _answer("PEM text", "application/x-pem-file", {"type": "string"}),
    "token": _answer("The access token", "application/json", _ref("Token")),
    "empty": _answer("Done (no body)", None),
    "html": _answer("An HTML page", "text/html", {"type": "string"}),
    "openapi": _answer("An OpenAPI 3 document", "application/json", {"type": "object"}),
    "asset": _answer("The file", "application/octet-stream", {"type": "string", "format": "binary"}),
    "json": _answer("JSON", "application/json", {}),
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Resource": {"type": "object", "description": "A FHIR R4 resource (JSON)", "required": ["resourceType"],
                 "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"},
                                "meta": {"type": "object"}},
                 "additionalProperties": True},
    "Bundle": {"type": "object", "required": ["resourceType", "type"], "additionalProperties": True,
               "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                              "type": {"type": "string", "enum": ["document", "message", "transaction",
                                                                  "transaction-response", "batch", "batch-response",
                                                                  "history", "searchset", "collection"]},
                              "total": {"type": "integer"},
                              "link": {"type": "array", "items": {"type": "object"}},
                              "entry": {"type": "array", "items": {"type": "object"}}}},
    "Parameters": {"type": "object", "required": ["resourceType"], "additionalProperties": True,
                   "properties": {"resourceType": {"type": "string", "enum": ["Parameters"]},
                                  "parameter": {"type": "array", "items": {"type": "object"}}}},
    "OperationOutcome": {
        "type": "object", "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {"type": "array", "items": {
                "type": "object", "required": ["severity", "code"],
                "properties": {"severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                               "code": {"type": "string"},
                               "details": {"type": "object", "properties": {
                                   "text": {"type": "string"},
                                   "coding": {"type": "array", "items": {"type": "object"}}}},
                               "expression": {"type": "array", "items": {"type": "string"}}}}}}},
    "JsonPatch": {"type": "array", "items": {
        "type": "object", "required": ["op", "path"],
        "properties": {"op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
                       "path": {"type": "string"}, "from": {"type": "string"}, "value": {}}}},
    "TokenRequest": {"type": "object", "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"}, "client_secret": {"type": "string", "format": "password"}}},
    "RevokeRequest": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
    "Token": {"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {
        "access_token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"}, "issued_at": {"type": "string"}, "client_id": {"type": "string"},
        "role": {"type": "string"}, "organization_id": {"type": "string", "nullable": True},
        "status": {"type": "string"}}},
    "OAuthError": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"}}},
    "JWKS": {"type": "object", "required": ["keys"], "properties": {
        "keys": {"type": "array", "items": {"type": "object"}}}},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "Error": _answer("An error, as an OperationOutcome", FHIR_TYPES[0], _ref("OperationOutcome")),
    "Unauthorized": {**_answer("No valid bearer token (the WWW-Authenticate header says why)", FHIR_TYPES[0],
                               _ref("OperationOutcome")),
                     "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "OAuthError": _answer("The request was refused (400 bad grant, 401 bad credentials, 429 too many failures, "
                          "with Retry-After)", "application/json", _ref("OAuthError")),
}


def document(root: str) -> dict[str, Any]:
    """The OpenAPI document for a server at `root` (e.g. http://127.0.0.1:8080)."""
    definitions = capability.operation_definitions()
    paths: dict[str, dict[str, Any]] = {}
    for entry in surface.TABLE:
        paths.setdefault(entry.path, {})[entry.method.lower()] = _operation(entry, definitions)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "fhirclaim: FHIR claim facade for JKN / BPJS Kesehatan", "version": __version__,
                 "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}},
        "servers": [{"url": root, "description": "this server"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.values()],
        "security": [{"oauth2": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"oauth2": {
                "type": "oauth2",
                "description": "OAuth2 client credentials; send the token as 'Authorization: Bearer <token>'",
                "flows": {"clientCredentials": {"tokenUrl": root + surface.TOKEN_PATH, "scopes": {}}}}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }


def _operation(entry: Endpoint, definitions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": entry.key,
        "tags": [TAGS[entry.group][0]],
        "summary": entry.summary,
        "description": _description(entry, definitions),
        "parameters": [*(_path_param(entry, name) for name in entry.path_params),
                       *(_param(p, "query") for p in entry.query), *(_param(p, "header") for p in entry.headers)],
        "responses": _responses(entry),
    }
    if not operation["parameters"]:
        del operation["parameters"]
    if entry.body:
        operation["requestBody"] = {**BODIES[entry.body], "required": True}
    if not entry.auth:
        operation["security"] = []
    if entry.interactions:
        operation["x-fhir-interaction"] = list(entry.interactions)
    if entry.operation:
        operation["x-fhir-operation"] = {"name": f"${entry.operation}", "definition": entry.definition_url}
    if entry.roles:
        operation["x-roles"] = list(entry.roles)
    return operation


def _description(entry: Endpoint, definitions: dict[str, dict[str, Any]]) -> str:
    lines = []
    definition = definitions.get(entry.definition or "")
    if definition:
        lines.append(definition["description"])
        if definition.get("comment"):
            lines.append(definition["comment"])
        lines.append(f"OperationDefinition: `{surface.FHIR_BASE}/OperationDefinition/{definition['id']}` "
                     f"({definition['url']}).")
    elif entry.definition:
        lines.append(f"OperationDefinition: {entry.definition_url}.")
    if not entry.auth:
        lines.append("No token needed.")
    elif entry.roles:
        lines.append(f"Roles: {', '.join(entry.roles)}.")
    else:
        lines.append("Any client with a token; what it may see and write follows its role.")
    return "\n\n".join(lines)


def _path_param(entry: Endpoint, name: str) -> dict[str, Any]:
    if name == "resource_type":
        description, schema = "a resource type", {"type": "string", "enum": list(entry.types)}
    elif name == "definition_id":
        description = "an OperationDefinition id"
        schema = {"type": "string", "enum": list(surface.operation_definition_ids())}
    else:
        description, schema = PATH_PARAMS[name]
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


def _param(param: Param, where: str) -> dict[str, Any]:
    if param.type == "object":  # free-form search criteria: name=value pairs of the query string
        return {"name": param.name, "in": where, "required": param.required, "description": param.description,
                "style": "form", "explode": True,
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}}
    schema: dict[str, Any] = {"type": param.type}
    if param.enum:
        schema["enum"] = list(param.enum)
    return {"name": param.name, "in": where, "required": param.required, "description": param.description,
            "schema": schema}


def _responses(entry: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {str(entry.status): ANSWERS[entry.returns]}
    if entry.key == "create":
        responses["200"] = _answer("If-None-Exist matched an existing resource", FHIR_TYPES[0], _ref("Resource"))
    if entry.returns == "submission":
        responses["202"] = {**_answer("Still running: poll Content-Location", FHIR_TYPES[0],
                                      _ref("OperationOutcome")),
                            "headers": {"Content-Location": {"schema": {"type": "string"}},
                                        "Retry-After": {"schema": {"type": "integer"}}}}
    if entry.group == "oauth2":
        if entry.key == "access_token":
            responses["default"] = {"$ref": "#/components/responses/OAuthError"}
        return responses
    if entry.auth:
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    return responses
