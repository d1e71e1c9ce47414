"""GET /openapi.json: a valid OpenAPI 3.0 document, generated from the route table: every route with its
parameters, bodies and answers, OAuth2 client credentials as the security scheme."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from fhirclaim.api import openapi, surface


@pytest.fixture
def document(app) -> dict:
    response = app.test_client().get("/openapi.json")  # public
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_it_is_a_valid_openapi_document(document):
    validate(document)
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": "http://localhost", "description": "this server"}]


def test_every_route_is_an_operation(document):
    paths = document["paths"]
    for entry in surface.TABLE:
        operation = paths[entry.path][entry.method.lower()]
        assert operation["operationId"] == entry.key
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(entry.path_params), entry.key
    operations = sum(len(methods) for methods in paths.values())
    assert operations == len(surface.TABLE)
    for path in ("/fhir/Claim/$submit", "/fhir/Claim/{claim_id}/$submit-status", "/fhir/Claim/$precheck",
                 "/fhir/Claim/{claim_id}/$print", "/fhir/Bundle/$verify-signature",
                 "/fhir/{resource_type}/$validate", "/fhir/{resource_type}/{resource_id}/$validate",
                 "/fhir/metadata", "/oauth2/v1/accesstoken", "/oauth2/v1/revoke", "/admin/clients"):
        assert path in paths, path


def test_operations_carry_their_definitions(document):
    submit = document["paths"]["/fhir/Claim/$submit"]["post"]
    assert submit["x-fhir-operation"] == {
        "name": "$submit", "definition": "https://fhirclaim.org/fhir/OperationDefinition/Claim-submit"}
    assert submit["x-roles"] == ["facility", "eklaim"]
    assert "/fhir/OperationDefinition/Claim-submit" in submit["description"]
    assert set(submit["responses"]) >= {"200", "202", "401", "default"}
    assert "application/fhir+json" in submit["requestBody"]["content"]
    assert document["paths"]["/fhir/Claim/{claim_id}/$print"]["get"]["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def test_fhir_interactions_name_their_types_bodies_and_errors(document):
    create = document["paths"]["/fhir/{resource_type}"]["post"]
    [resource_type] = [p for p in create["parameters"] if p["name"] == "resource_type"]
    assert resource_type["in"] == "path" and resource_type["required"] is True
    assert "Claim" in resource_type["schema"]["enum"] and "AuditEvent" not in resource_type["schema"]["enum"]
    search = document["paths"]["/fhir/{resource_type}"]["get"]
    assert "AuditEvent" in [p for p in search["parameters"] if p["name"] == "resource_type"][0]["schema"]["enum"]
    assert {"_count", "_sort", "_include", "criteria"} <= {p["name"] for p in search["parameters"]}
    assert set(create["requestBody"]["content"]) == {"application/fhir+json", "application/json"}
    assert "If-None-Exist" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert set(create["responses"]) >= {"201", "200", "401", "default"}
    assert create["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    error = document["components"]["responses"]["Error"]["content"]["application/fhir+json"]["schema"]
    assert error == {"$ref": "#/components/schemas/OperationOutcome"}
    patch = document["paths"]["/fhir/{resource_type}/{resource_id}"]["patch"]
    assert set(patch["requestBody"]["content"]) == {"application/json-patch+json", "application/merge-patch+json"}
    assert create["x-fhir-interaction"] == ["create"]


def test_security_is_oauth2_client_credentials(document):
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "http://localhost/oauth2/v1/accesstoken"
    assert document["security"] == [{"oauth2": []}]
    paths = document["paths"]
    for method, path in surface.public_routes():
        assert paths[path][method.lower()]["security"] == [], path
    assert "security" not in paths["/fhir/{resource_type}/{resource_id}"]["get"]
    token = paths["/oauth2/v1/accesstoken"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]


def test_the_document_is_built_for_any_root():
    document = openapi.document("https://klaim.example.id")
    validate(document)
    assert document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == (
        "https://klaim.example.id/oauth2/v1/accesstoken")
