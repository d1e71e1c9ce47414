"""The route table (fhirclaim/api/surface.py) is the whole HTTP surface: every Flask route is in it and every entry
is routed, under its key; its `auth` flag is what an anonymous caller meets; the OperationDefinitions it names ship
as data and agree with it."""

from __future__ import annotations

import configparser
import re

import pytest

from fhirclaim.api import surface
from fhirclaim.interactions import capability

from testkit import REPO_ROOT

SAMPLE = {"resource_id": "x", "claim_id": "x", "version": "1", "filename": "swagger-ui.css", "client_id": "x",
          "tenant": "10000004", "delivery_id": "1"}


def _flask_routes(app) -> dict[tuple[str, str], str]:
    """(method, path in the table's spelling) → endpoint name, for every rule of the API. The claim unit's web app
    (`/app/`, blueprint `webapp`: HTML pages behind a session cookie) is not part of the API surface; tests/webapp
    covers its routes."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("webapp."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        path = path.rstrip("/") or "/"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) not in routes, f"{method} {path} is routed twice"
            routes[(method, path)] = rule.endpoint
    return routes


def test_every_route_is_in_the_table_and_every_entry_is_routed(app):
    routes = _flask_routes(app)
    table = {(e.method, e.path): e.key for e in surface.TABLE}
    assert set(routes) - set(table) == set(), "routes missing from fhirclaim/api/surface.py"
    assert set(table) - set(routes) == set(), "table entries without a route"
    for route, endpoint in routes.items():
        assert endpoint.rsplit(".", 1)[-1] == table[route], route  # registered under the table's key


def _sample_path(entry: surface.Endpoint) -> str:
    values = {**SAMPLE, "resource_type": entry.types[0] if entry.types else "Patient",
              "definition_id": surface.operation_definition_ids()[0]}
    return re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)], entry.path)


@pytest.mark.parametrize("entry", surface.TABLE, ids=[e.key for e in surface.TABLE])
def test_the_auth_flag_is_what_an_anonymous_caller_meets(app, entry):
    response = app.test_client().open(_sample_path(entry), method=entry.method)
    if entry.auth:
        assert response.status_code == 401, response.get_data()[:200]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert response.status_code != 401, response.get_data()[:200]
        assert response.status_code < 500


def test_the_table_is_well_formed():
    for entry in surface.TABLE:
        assert entry.method in ("GET", "POST", "PUT", "PATCH", "DELETE"), entry.key
        assert entry.level in (None, *surface.LEVELS), entry.key
        assert set(entry.path_params) <= {*SAMPLE, "resource_type", "definition_id"}, entry.key
        assert ("resource_type" in entry.path_params) <= bool(entry.types), entry.key
        codes = set(capability.TYPE_INTERACTIONS) | set(capability.SYSTEM_INTERACTIONS) | {"capabilities"}
        assert set(entry.interactions) <= codes, entry.key
        if entry.operation:
            assert entry.definition and entry.level and entry.types, entry.key
            assert entry.path.endswith(f"/${entry.operation}"), entry.key
        assert not (entry.roles and not entry.auth), entry.key


def test_public_routes_are_the_discovery_oauth_and_key_routes():
    assert surface.public_routes() == {
        ("GET", "/"), ("GET", "/fhir"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/static/{filename}"),
        ("GET", "/fhir/metadata"), ("GET", "/fhir/OperationDefinition"),
        ("GET", "/fhir/OperationDefinition/{definition_id}"), ("GET", "/fhir/.well-known/jwks.json"),
        ("GET", "/fhir/.well-known/trust-anchors.pem"), ("GET", "/fhir/.well-known/signing-crl.pem"),
        ("POST", "/oauth2/v1/accesstoken"), ("POST", "/oauth2/v1/revoke")}


def test_the_operation_definitions_ship_and_agree_with_the_table():
    definitions = capability.operation_definitions()
    assert set(definitions) == set(surface.operation_definition_ids()) == {
        "Claim-submit", "Claim-submit-status", "Claim-precheck", "Claim-print", "Bundle-verify-signature"}
    for entry in surface.TABLE:
        if entry.definition not in definitions:
            continue
        definition = definitions[entry.definition]
        assert definition["id"] == entry.definition
        assert definition["url"] == entry.definition_url == capability.operation_canonical(entry.definition)
        assert definition["code"] == entry.operation
        assert definition["resource"] == list(entry.types)
        assert (definition["system"], definition["type"], definition["instance"]) == (
            entry.level == "system", entry.level == "type", entry.level == "instance")
        if entry.method == "GET":  # a GET may only invoke what changes nothing
            assert definition["affectsState"] is False, entry.key


def test_templates_and_operation_definitions_are_package_data():
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    declared = parser["options.package_data"]["fhirclaim"].split()
    assert {"api/templates/*", "fhir/data/operations/*"} <= set(declared)
    assert (REPO_ROOT / "fhirclaim" / "api" / "templates" / "landing.html").is_file()
    requires = parser["options"]["install_requires"]
    assert "swagger-ui-bundle" in requires  # Swagger UI's files come from it: no CDN
