"""What the server says about itself, to anyone (no token): the landing page at `/` and `/fhir` (for a browser),
the OpenAPI document `/openapi.json` and its interactive page `/docs` (Swagger UI from the swagger-ui-bundle
package: no CDN), and the OperationDefinitions of the custom operations at `/fhir/OperationDefinition`.

Routes are registered by their key in the route table (`api.surface`, `api.routing`); the blueprint has no
`authenticate`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from fhirclaim import __version__
from fhirclaim.api import surface
from fhirclaim.api.http import Reply, base_url, check_format, query_pairs, server_root
from fhirclaim.api.openapi import document as openapi_document
from fhirclaim.api.request_scope import runtime
from fhirclaim.api.routing import serve_on, view_on
from fhirclaim.fhir import jsonio
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions import capability

blueprint = Blueprint("discovery", __name__, template_folder="templates")
SANDBOX_CLIENTS = "sandbox-clients.json"  # written by `fhirclaim serve --sandbox` (fhirclaim.sandbox)
HTML_OR_FHIR = ("text/html", "application/fhir+json", "application/json", "application/json+fhir")
_page = view_on(blueprint)
_fhir = serve_on(blueprint, mount="")


# --- the landing page ---------------------------------------------------------------------------------------


@_page("home")
def home() -> Response | str:
    return _landing()


@_page("fhir_home")
def fhir_home() -> Response | str:
    return _landing()


def _landing() -> str:
    if not _wants_html():
        check_format()  # asking for XML only is a 406, as everywhere
        raise FhirError.of(400, "not-supported", f"GET on the FHIR base is not a FHIR interaction: read the "
                                                 f"CapabilityStatement at {base_url()}/metadata, or search a type "
                                                 f"(GET {base_url()}/Claim?identifier=...)")
    root = server_root()
    settings = runtime().settings
    definitions = capability.operation_definitions()
    operations = [{"code": e.operation, "method": e.method, "path": e.path, "summary": e.summary,
                   "definition": definitions[e.definition]}
                  for e in surface.TABLE if e.definition in definitions]
    return render_template(
        "landing.html", version=__version__, fhir_base=base_url(), root=root, sandbox=settings.sandbox,
        sandbox_clients=str(runtime().data_dir / SANDBOX_CLIENTS), operations=operations,
        token_url=root + surface.TOKEN_PATH, revoke_url=root + surface.REVOKE_PATH,
        links={"metadata": url_for("fhir.capabilities"), "openapi": url_for("discovery.openapi"),
               "docs": url_for("discovery.docs"), "jwks": url_for("operations.jwks"),
               "trust_anchors": url_for("operations.trust_anchors"), "signing_crl": url_for("operations.signing_crl"),
               "definitions": url_for("discovery.operation_definitions")},
        definition_url=lambda definition_id: url_for("discovery.operation_definition", definition_id=definition_id))


def _wants_html() -> bool:
    """A browser (text/html, or anything at all) gets the page; a client asking for FHIR JSON, or naming a
    _format, does not."""
    if request.args.get("_format"):
        return False
    if not request.headers.get("Accept"):
        return True
    return request.accept_mimetypes.best_match(HTML_OR_FHIR) == "text/html"


# --- OpenAPI and Swagger UI ---------------------------------------------------------------------------------


@_page("openapi")
def openapi() -> Response:
    return Response(jsonio.dumps(openapi_document(server_root()), pretty=request.args.get("_pretty") == "true"),
                    200, content_type="application/json; charset=utf-8")


@_page("docs")
def docs() -> str:
    return render_template("docs.html", version=__version__, openapi_url=url_for("discovery.openapi"),
                           home_url=url_for("discovery.home"),
                           asset=lambda name: url_for("discovery.docs_asset", filename=name))


@_page("docs_asset")
def docs_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


# --- OperationDefinitions -----------------------------------------------------------------------------------


@_fhir("operation_definitions")
def operation_definitions() -> Reply:
    criteria: dict[str, str] = {}
    for name, value in query_pairs():
        if name == "url":
            criteria[name] = value
        elif name not in ("_pretty", "_format"):
            raise FhirError.of(400, "not-supported", f"OperationDefinition is searched by url only, not {name}",
                               name)
    found = [d for d in capability.operation_definitions().values() if criteria.get("url", d["url"]) == d["url"]]
    return Reply(200, _searchset(found))


@_fhir("operation_definition")
def operation_definition(definition_id: str) -> Reply:
    found = capability.operation_definition(definition_id)
    if found is None:
        raise FhirError.of(404, "not-found", f"OperationDefinition/{definition_id} is not known")
    return Reply(200, found)


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    self_url = f"{base_url()}/OperationDefinition" + (f"?{request.query_string.decode()}"
                                                       if request.query_string else "")
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "link": [{"relation": "self", "url": self_url}],
            "entry": [{"fullUrl": f"{base_url()}/OperationDefinition/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]}
