"""The HTTP surface of the server as one table: every route, what it is in FHIR terms, who may call it, and the
handler that serves it.

Plain data, no Flask. Three things are made from it, so they cannot disagree:

- the routes: every handler but OAuth2's two is registered by its key here (`api.routing`), which refuses a
  handler other than the one its entry names (`Endpoint.handler`), and the view checks the entry's `roles`;
  tests/rest/test_surface.py fails for a Flask route missing here;
- the CapabilityStatement (`rest_surface` → `fhirclaim.interactions.capability`): per resource type only the
  interactions routed for it, the operations with their definitions, the OAuth2 security;
- the OpenAPI document (`api.openapi`).

Paths are written as OpenAPI writes them (`/fhir/{resource_type}/{resource_id}`); a path parameter's name is the
handler's argument name, and `CONVERTERS` gives its Flask converter where it is not a plain string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fhirclaim.auth.policy import SERVER_OWNED_TYPES
from fhirclaim.auth.principal import ADMIN, HOSPITAL_ROLES
from fhirclaim.fhir.validation import STORED_TYPES
from fhirclaim.interactions import capability

FHIR_BASE = "/fhir"
FHIR_PREFIX = FHIR_BASE + "/"  # what every FHIR path but the base itself begins with
CORS = False  # the app sends no Access-Control-* headers: browsers reach it from its own origin only
OAUTH_BASE = "/oauth2/v1"
TOKEN_PATH = f"{OAUTH_BASE}/accesstoken"
REVOKE_PATH = f"{OAUTH_BASE}/revoke"

LEVELS = ("system", "type", "instance")
ALL_TYPES = tuple(STORED_TYPES)
# What a client may write: every stored type but those the server alone writes (AuditEvent).
WRITABLE_TYPES = tuple(t for t in STORED_TYPES if t not in SERVER_OWNED_TYPES)
OPERATION_DEFINITION = capability.OPERATION_DEFINITION

# delivery_id: a row id, within an INTEGER column's range (fhir.integers.MAX_INT), so a larger one is a 404
CONVERTERS = {"resource_type": "string(minlength=1)", "delivery_id": "int(max=2147483647)", "filename": "path"}
_PARAM = re.compile(r"\{([a-z_]+)\}")
# The module of fhirclaim.api whose function named by an entry's key serves the routes of each group.
SERVED_BY = {"discovery": "discovery", "fhir": "fhir_rest", "operations": "operations", "signatures": "operations",
             "oauth2": "auth", "admin": "admin_routes"}


@dataclass(frozen=True)
class Param:
    """A query or header parameter (path parameters come from the path)."""

    name: str
    description: str
    type: str = "string"  # a JSON Schema type
    required: bool = False
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """A route: its key (the Flask endpoint name, and the name of the handler serving it), method and path, what it
    is in FHIR terms, who may call it, and what it takes and answers (for the OpenAPI document)."""

    key: str
    method: str
    path: str
    summary: str
    group: str  # discovery | fhir | operations | signatures | oauth2 | admin: its handler's module (SERVED_BY)
    interactions: tuple[str, ...] = ()  # FHIR restful interaction codes
    operation: str | None = None  # a FHIR operation code, without '$'
    definition: str | None = None  # the OperationDefinition id on this server, or an absolute canonical
    level: str | None = None  # system | type | instance (FHIR interactions and operations)
    types: tuple[str, ...] = ()  # the resource types the route serves
    auth: bool = True  # needs a bearer token
    roles: tuple[str, ...] = ()  # who may call it (else 403); (): any client with a token, the role policy per type
    query: tuple[Param, ...] = ()
    headers: tuple[Param, ...] = ()
    body: str | None = None  # kind of request body (api.openapi.BODIES)
    returns: str = "resource"  # kind of answer (api.openapi.ANSWERS)
    status: int = 200  # status of success
    conditional: bool = False  # PUT [type]?criteria

    @property
    def handler(self) -> str:
        """The dotted name of the function that serves the route."""
        return f"fhirclaim.api.{SERVED_BY[self.group]}.{self.key}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def definition_url(self) -> str | None:
        if self.definition is None or "://" in self.definition:
            return self.definition
        return capability.operation_canonical(self.definition)

    def flask_rule(self, mount: str = "") -> str:
        """The Flask rule under a blueprint mounted at `mount` (`/fhir/{resource_id}` → `/<resource_id>`)."""
        if not self.path.startswith(mount):
            raise ValueError(f"{self.key}: {self.path} is not under {mount}")
        def converter(match: re.Match) -> str:
            name = match.group(1)
            return f"<{CONVERTERS[name]}:{name}>" if name in CONVERTERS else f"<{name}>"
        return _PARAM.sub(converter, self.path[len(mount):])


# --- the parameters several routes share ------------------------------------------------------------------

PRETTY = Param("_pretty", "true: an indented answer", "boolean")
FORMAT = Param("_format", "json, application/fhir+json (this server answers in JSON only)")
PREFER = Param("Prefer", "return=minimal | representation | OperationOutcome; handling=lenient (searches)")
IF_MATCH = Param("If-Match", 'W/"<versionId>": 412 when the current version differs')
IF_NONE_EXIST = Param("If-None-Exist", "search criteria (conditional create): an existing single match is answered "
                                       "instead of a new resource")
SEARCH = (
    Param("_count", "page size", "integer"), Param("_offset", "where the page starts", "integer"),
    Param("_sort", "comma-separated search parameters, '-' for descending"),
    Param("_include", "e.g. Claim:patient"), Param("_revinclude", "e.g. ClaimResponse:request"),
    Param("_total", "none | estimate | accurate", enum=("none", "estimate", "accurate")),
    Param("_summary", "count: only the total", enum=("count",)),
    FORMAT, PRETTY,
)
HISTORY = (Param("_since", "only versions since this instant"), Param("_count", "page size", "integer"),
           Param("_offset", "where the page starts", "integer"), PRETTY)
HOSPITALS = tuple(HOSPITAL_ROLES)


def _fhir(key: str, method: str, path: str, summary: str, interaction: str, level: str,
          types: tuple[str, ...] = ALL_TYPES, **more: Any) -> Endpoint:
    more.setdefault("interactions", (interaction,))
    more.setdefault("query", (FORMAT, PRETTY))
    return Endpoint(key, method, FHIR_BASE + path, summary, "fhir", level=level, types=types, **more)


def _operation(key: str, method: str, path: str, summary: str, code: str, definition: str, level: str,
               types: tuple[str, ...], group: str = "operations", **more: Any) -> Endpoint:
    return Endpoint(key, method, FHIR_BASE + path, summary, group, operation=code, definition=definition,
                    level=level, types=types, **more)


def _admin(key: str, method: str, path: str, summary: str, **more: Any) -> Endpoint:
    return Endpoint(key, method, "/admin" + path, summary, "admin", roles=(ADMIN,), returns="json", **more)


TYPE = "/{resource_type}"
INSTANCE = "/{resource_type}/{resource_id}"

TABLE: tuple[Endpoint, ...] = (
    # --- discovery: public ------------------------------------------------------------------------------------
    Endpoint("home", "GET", "/", "This page: what the server is, and where its descriptions are", "discovery",
             auth=False, returns="html"),
    Endpoint("fhir_home", "GET", FHIR_BASE, "The FHIR base: the same page for a browser; a FHIR client is told to "
             "read the CapabilityStatement", "discovery", auth=False, returns="html"),
    Endpoint("openapi", "GET", "/openapi.json", "This OpenAPI document", "discovery", auth=False,
             returns="openapi"),
    Endpoint("docs", "GET", "/docs", "The interactive API documentation (Swagger UI) of this document", "discovery",
             auth=False, returns="html"),
    Endpoint("docs_asset", "GET", "/docs/static/{filename}", "A file of the Swagger UI (served from the "
             "swagger-ui-bundle package)", "discovery", auth=False, returns="asset"),
    _fhir("capabilities", "GET", "/metadata", "The CapabilityStatement", "capabilities", "system", (),
          auth=False, returns="capabilities"),
    Endpoint("operation_definitions", "GET", f"{FHIR_BASE}/OperationDefinition", "This server's "
             "OperationDefinitions (a searchset Bundle), by canonical url", "discovery", ("search-type",),
             level="type", types=(OPERATION_DEFINITION,), auth=False, returns="bundle",
             query=(Param("url", "the canonical URL of an OperationDefinition"), PRETTY)),
    Endpoint("operation_definition", "GET", f"{FHIR_BASE}/OperationDefinition/{{definition_id}}", "An "
             "OperationDefinition of this server", "discovery", ("read",), level="instance",
             types=(OPERATION_DEFINITION,), auth=False, query=(PRETTY,)),

    # --- FHIR REST --------------------------------------------------------------------------------------------
    _fhir("batch_or_transaction", "POST", "", "A transaction (all or nothing, urn:uuid references resolved) or "
          "batch Bundle", "transaction", "system", (), interactions=("transaction", "batch"),
          body="bundle", returns="bundle", headers=(PREFER,)),
    _fhir("history_system", "GET", "/_history", "Every change of every resource the client sees",
          "history-system", "system", (), returns="bundle", query=HISTORY),
    _fhir("search", "GET", TYPE, "Search", "search-type", "type", returns="bundle",
          query=(*SEARCH, Param("criteria", "search parameters of the type (see the CapabilityStatement), with "
                                            "modifiers (:exact :contains :missing :not), prefixes and chains",
                                "object")),
          headers=(PREFER,)),
    _fhir("search_post", "POST", f"{TYPE}/_search", "Search with the parameters in a form body", "search-type",
          "type", body="form-search", returns="bundle", headers=(PREFER,)),
    _fhir("create", "POST", TYPE, "Create (the server assigns the id)", "create", "type", WRITABLE_TYPES,
          body="resource", status=201, headers=(IF_NONE_EXIST, PREFER)),
    _fhir("conditional_update", "PUT", TYPE, "Conditional update: update the single match of the criteria, or "
          "create", "update", "type", WRITABLE_TYPES, body="resource", conditional=True,
          query=(Param("criteria", "search parameters selecting the resource to update", "object", required=True),),
          headers=(IF_MATCH, PREFER)),
    _fhir("history_type", "GET", f"{TYPE}/_history", "Every change of the type's resources", "history-type",
          "type", returns="bundle", query=HISTORY),
    _operation("validate_type", "POST", f"{TYPE}/$validate", "Validate a resource (nothing is written)",
               "validate", capability.VALIDATE_DEFINITION, "type", ALL_TYPES, group="fhir",
               body="resource-or-parameters", returns="outcome"),
    _operation("validate_instance", "POST", f"{INSTANCE}/$validate", "Validate a resource (nothing is written)",
               "validate", capability.VALIDATE_DEFINITION, "instance", ALL_TYPES, group="fhir",
               body="resource-or-parameters", returns="outcome"),
    _fhir("read", "GET", INSTANCE, "Read (410 once deleted)", "read", "instance"),
    _fhir("update", "PUT", INSTANCE, "Update, or create with this id", "update", "instance", WRITABLE_TYPES,
          body="resource", headers=(IF_MATCH, PREFER)),
    _fhir("patch", "PATCH", INSTANCE, "Patch: a JSON Patch, or a JSON merge patch", "patch", "instance",
          WRITABLE_TYPES, body="patch", headers=(IF_MATCH, PREFER)),
    _fhir("delete", "DELETE", INSTANCE, "Delete (soft: a later read answers 410; 409 while others refer to it)",
          "delete", "instance", WRITABLE_TYPES, returns="outcome"),
    _fhir("history_instance", "GET", f"{INSTANCE}/_history", "Every version of a resource", "history-instance",
          "instance", returns="bundle", query=HISTORY),
    _fhir("vread", "GET", f"{INSTANCE}/_history/{{version}}", "Read a version", "vread", "instance"),

    # --- claim operations -------------------------------------------------------------------------------------
    _operation("submit", "POST", "/Claim/$submit", "Submit a claim and wait for its grouping (202 after the "
               "limit)", "submit", "Claim-submit", "type", ("Claim",), roles=HOSPITALS, body="claim-or-bundle",
               returns="submission"),
    _operation("submit_status", "GET", "/Claim/{claim_id}/$submit-status", "The result of a submitted claim",
               "submit-status", "Claim-submit-status", "instance", ("Claim",), roles=HOSPITALS,
               returns="submission"),
    _operation("precheck", "POST", "/Claim/$precheck", "Every precheck finding of a claim (nothing is written)",
               "precheck", "Claim-precheck", "type", ("Claim",), roles=HOSPITALS, body="claim", returns="outcome"),
    _operation("print_claim", "GET", "/Claim/{claim_id}/$print", "E-Klaim's claim printout (PDF)", "print",
               "Claim-print", "instance", ("Claim",), roles=HOSPITALS, returns="pdf"),

    # --- signatures -------------------------------------------------------------------------------------------
    _operation("verify_signature", "POST", "/Bundle/$verify-signature", "Verify a signed Bundle",
               "verify-signature", "Bundle-verify-signature", "type", ("Bundle",), group="signatures",
               body="bundle-or-parameters", returns="outcome",
               query=(Param("trusted", "false: the integrity verdict alone (the signer is then unproven); "
                                   "default true: the signer must chain to a trust anchor and be Signature.who",
                            "boolean"),)),
    Endpoint("jwks", "GET", f"{FHIR_BASE}/.well-known/jwks.json", "The public keys of this server's Bundle "
             "signatures (JWK Set)", "signatures", auth=False, returns="jwks"),
    Endpoint("trust_anchors", "GET", f"{FHIR_BASE}/.well-known/trust-anchors.pem", "The CA certificates signed "
             "Bundles chain to (PEM), for offline verification", "signatures", auth=False, returns="pem"),
    Endpoint("signing_crl", "GET", f"{FHIR_BASE}/.well-known/signing-crl.pem", "Revoked hospital signing "
             "certificates (the CA's CRL, PEM)", "signatures", auth=False, returns="pem"),

    # --- OAuth2 -----------------------------------------------------------------------------------------------
    Endpoint("access_token", "POST", TOKEN_PATH, "An access token (client credentials grant)", "oauth2",
             auth=False, body="form-token", returns="token",
             query=(Param("grant_type", "client_credentials (here or in the form)", enum=("client_credentials",)),)),
    Endpoint("revoke", "POST", REVOKE_PATH, "Revoke an access token (RFC 7009; always 200)", "oauth2", auth=False,
             body="form-revoke", returns="empty"),

    # --- administration ---------------------------------------------------------------------------------------
    _admin("list_clients", "GET", "/clients", "The OAuth2 clients"),
    _admin("add_client", "POST", "/clients", "A new OAuth2 client (its secret is shown once)", body="json",
           status=201),
    _admin("disable_client", "DELETE", "/clients/{client_id}", "Disable a client"),
    _admin("security_log", "GET", "/security-log",
           "Requests refused before anyone was identified, per minute, source address and kind"),
    _admin("get_tenant", "GET", "/tenants/{tenant}", "A hospital's own E-Klaim and tariff settings"),
    _admin("put_tenant", "PUT", "/tenants/{tenant}", "Set a hospital's E-Klaim URL and key, tariff class, ...",
           body="json"),
    _admin("get_signing_certificate", "GET", "/tenants/{tenant}/signing-certificate",
           "A hospital's signing certificate chain, and a CSR of its key for an outside CA"),
    _admin("put_signing_certificate", "PUT", "/tenants/{tenant}/signing-certificate",
           "Sign with a certificate an outside CA issued for the hospital's key ({certificate: PEM chain})",
           body="json"),
    _admin("revoke_signing_certificate", "POST", "/tenants/{tenant}/signing-certificate/revoke",
           "Revoke the hospital's signing certificate ({reason}); it gets a new key", body="json"),
    _admin("add_trust_anchor", "POST", "/trust-anchors", "Trust an outside CA ({certificate: PEM})", body="json",
           status=201),
    _admin("deliveries", "GET", "/webhooks/deliveries", "Webhook deliveries",
           query=(Param("status", "a delivery status"), Param("subscription", "a Subscription id"))),
    _admin("delivery", "GET", "/webhooks/deliveries/{delivery_id}", "A webhook delivery"),
    _admin("dead_letters", "GET", "/webhooks/dead-letters", "Deliveries that gave up"),
    _admin("replay", "POST", "/webhooks/deliveries/{delivery_id}/replay", "Deliver again"),
)

ENDPOINTS: dict[str, Endpoint] = {e.key: e for e in TABLE}
assert len(ENDPOINTS) == len(TABLE), "duplicate keys in the route table"


def endpoint(key: str) -> Endpoint:
    return ENDPOINTS[key]


def public_routes() -> frozenset[tuple[str, str]]:
    """(method, path) of the routes anyone may call."""
    return frozenset((e.method, e.path) for e in TABLE if not e.auth)


def operation_definition_ids() -> tuple[str, ...]:
    return tuple(dict.fromkeys(e.definition for e in TABLE if e.definition and "://" not in e.definition))


# --- the CapabilityStatement's input ------------------------------------------------------------------------


def rest_surface(token_url: str, revoke_url: str, endpoints: Iterable[Endpoint] = TABLE) -> capability.RestSurface:
    """What the table routes, in the CapabilityStatement's terms."""
    endpoints = [e for e in endpoints if e.path == FHIR_BASE or e.path.startswith(FHIR_PREFIX)]
    system: set[str] = set()
    by_type: dict[str, set[str]] = {t: set() for t in (*ALL_TYPES, OPERATION_DEFINITION)}
    conditional: set[str] = set()
    operations: list[capability.OperationUse] = []
    for e in endpoints:
        if e.level == "system":
            system.update(e.interactions)
        for resource_type in e.types:
            by_type[resource_type].update(e.interactions)
            if e.conditional:
                conditional.add(resource_type)
        if e.operation:
            operations.append(capability.OperationUse(e.operation, e.definition_url, e.level, e.types))
    return capability.RestSurface(
        system_interactions=frozenset(system),
        type_interactions={t: frozenset(codes) for t, codes in by_type.items() if codes},
        operations=tuple(operations), conditional_update=frozenset(conditional),
        security=capability.Security(token_url=token_url, revoke_url=revoke_url, cors=CORS))
