"""The CapabilityStatement, generated from the route table: a valid R4 statement, every operation with a definition
that can be fetched from this server, the OAuth2 security, and per resource type only what a client can do."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationdefinition import OperationDefinition

from fhirclaim.api import surface
from fhirclaim.app import create_app
from fhirclaim.interactions import capability

from testkit import outcome_text

CUSTOM = {"submit": "Claim-submit", "submit-status": "Claim-submit-status", "precheck": "Claim-precheck",
          "print": "Claim-print", "verify-signature": "Bundle-verify-signature"}
TYPE_CODES = {"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
              "search-type"}
SYSTEM_CODES = {"transaction", "batch", "search-system", "history-system"}
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@pytest.fixture
def statement(app) -> dict:
    response = app.test_client().get("/fhir/metadata")  # public: no token
    assert response.status_code == 200
    return response.get_json()


def _resources(statement: dict) -> dict[str, dict]:
    return {r["type"]: r for r in statement["rest"][0]["resource"]}


def _operations(statement: dict) -> list[tuple[str | None, dict]]:
    rest = statement["rest"][0]
    return [(None, o) for o in rest.get("operation", [])] + [
        (r["type"], o) for r in rest["resource"] for o in r.get("operation", [])]


def test_it_is_a_valid_r4_capability_statement(statement):
    CapabilityStatement.model_validate(statement)  # the model checks the structure, not the codes:
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} <= SYSTEM_CODES
    for resource in rest["resource"]:
        codes = [i["code"] for i in resource["interaction"]]
        assert set(codes) <= TYPE_CODES and len(codes) == len(set(codes)), resource["type"]
        assert resource.get("versioning", "versioned") in ("no-version", "versioned", "versioned-update")
    assert statement["software"]["version"] and statement["implementation"]["url"] == "http://localhost/fhir"


def test_every_operation_is_listed_with_its_definition(statement):
    listed = {(t, o["name"]): o["definition"] for t, o in _operations(statement)}
    for name, definition_id in CUSTOM.items():
        resource_type = definition_id.split("-", 1)[0]
        assert listed[(resource_type, name)] == f"https://fhirclaim.org/fhir/OperationDefinition/{definition_id}"
    resources = _resources(statement)
    for resource_type in surface.ALL_TYPES:
        assert {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"} in (
            resources[resource_type]["operation"])
    assert {name for (_, name) in listed} == {*CUSTOM, "validate"}


def test_every_custom_definition_can_be_fetched_and_is_a_valid_operation_definition(app, statement):
    client = app.test_client()  # OperationDefinitions are public, like the statement
    definitions = {o["definition"] for _, o in _operations(statement) if o["name"] != "validate"}
    assert len(definitions) == len(CUSTOM)
    for canonical in definitions:
        found = client.get("/fhir/OperationDefinition", query_string={"url": canonical})
        assert found.status_code == 200
        [entry] = found.get_json()["entry"]
        read = client.get(f"/fhir/OperationDefinition/{entry['resource']['id']}")
        assert read.status_code == 200 and read.content_type.startswith("application/fhir+json")
        definition = read.get_json()
        assert definition == entry["resource"] and definition["url"] == canonical
        assert entry["fullUrl"] == f"http://localhost/fhir/OperationDefinition/{definition['id']}"
        OperationDefinition.model_validate(definition)
        assert definition["status"] == "active" and definition["kind"] == "operation"
        assert definition["description"] and definition["parameter"]
        for parameter in definition["parameter"]:
            assert parameter["use"] in ("in", "out") and parameter["type"] and parameter["documentation"]
            assert isinstance(parameter["min"], int) and parameter["max"] in ("1", "*")
        assert [p["name"] for p in definition["parameter"] if p["use"] == "out"] == ["return"]


def test_operation_definition_parameters_say_what_goes_in_and_out():
    definitions = capability.operation_definitions()
    def shape(definition_id):
        return [(p["name"], p["use"], p["min"], p["max"], p["type"]) for p in definitions[definition_id]["parameter"]]
    assert shape("Claim-submit") == [("resource", "in", 1, "1", "Resource"), ("return", "out", 1, "1", "Bundle")]
    assert shape("Claim-precheck") == [("resource", "in", 1, "1", "Claim"),
                                       ("return", "out", 1, "1", "OperationOutcome")]
    assert shape("Claim-print") == [("return", "out", 1, "1", "Binary")]
    assert shape("Bundle-verify-signature") == [("resource", "in", 1, "1", "Bundle"),
                                                ("trusted", "in", 0, "1", "boolean"),
                                                ("return", "out", 1, "1", "OperationOutcome")]


def test_unknown_definitions_and_search_parameters(app):
    client = app.test_client()
    assert client.get("/fhir/OperationDefinition/Claim-nope").status_code == 404
    assert client.get("/fhir/OperationDefinition", query_string={"url": "urn:x"}).get_json()["total"] == 0
    assert client.get("/fhir/OperationDefinition").get_json()["total"] == len(CUSTOM)
    refused = client.get("/fhir/OperationDefinition", query_string={"name": "ClaimSubmit"})
    assert refused.status_code == 400 and "url only" in outcome_text(refused)


def test_security_names_oauth2_with_the_token_and_revoke_urls(statement):
    security = statement["rest"][0]["security"]
    assert security["cors"] is False  # the server sends no Access-Control-* headers
    assert {(c["system"], c["code"]) for s in security["service"] for c in s["coding"]} == {
        (SECURITY_SERVICE, "OAuth")}
    [uris] = [e for e in security["extension"] if e["url"] == OAUTH_URIS]
    assert {e["url"]: e["valueUri"] for e in uris["extension"]} == {
        "token": "http://localhost/oauth2/v1/accesstoken", "revoke": "http://localhost/oauth2/v1/revoke"}
    assert "client credentials" in security["description"]


def test_security_urls_follow_the_public_base_url(settings, runtime):
    public = settings.model_copy(update={"public_base_url": "https://klaim.example.id/fhir"})
    statement = create_app(public, runtime).test_client().get("/fhir/metadata").get_json()
    [uris] = statement["rest"][0]["security"]["extension"]
    assert uris["extension"][0]["valueUri"] == "https://klaim.example.id/oauth2/v1/accesstoken"
    assert statement["implementation"]["url"] == "https://klaim.example.id/fhir"


def test_the_audit_trail_is_read_only_and_it_is_refused_to_write(statement, fhir):
    audit = _resources(statement)["AuditEvent"]
    assert {i["code"] for i in audit["interaction"]} == {"read", "vread", "history-instance", "history-type",
                                                         "search-type"}
    assert (audit["versioning"], audit["updateCreate"], audit["conditionalCreate"]) == ("versioned", False, False)
    assert fhir.post("/AuditEvent", {"resourceType": "AuditEvent"}).status_code == 403  # as the statement says
    assert fhir.get("/AuditEvent").status_code == 200


def test_purification_decision_lists_what_the_server_does_with_it(statement):
    """PurificationDecision is written like the FHIR types (update answers a decision anew: tests/bpjs)."""
    entry = _resources(statement)["PurificationDecision"]
    assert {i["code"] for i in entry["interaction"]} == TYPE_CODES
    assert {"identifier", "claimResponse", "status", "created"} <= {p["name"] for p in entry["searchParam"]}


def test_every_stored_type_and_the_operation_definitions_are_listed(statement):
    resources = _resources(statement)
    assert list(resources) == [*surface.ALL_TYPES, "OperationDefinition"]
    definition = resources["OperationDefinition"]
    assert [i["code"] for i in definition["interaction"]] == ["read", "search-type"]
    assert [p["name"] for p in definition["searchParam"]] == ["url"]
    claim = resources["Claim"]
    assert (claim["versioning"], claim["conditionalCreate"], claim["conditionalUpdate"]) == (
        "versioned-update", True, True)
    assert {i["code"] for i in statement["rest"][0]["interaction"]} == {"transaction", "batch", "history-system"}


def test_verify_signature_takes_trusted_as_a_boolean(fhir):
    bundle = {"resourceType": "Bundle", "type": "collection"}
    assert fhir.post("/Bundle/$verify-signature?trusted=true", bundle).status_code == 200
    assert fhir.post("/Bundle/$verify-signature?trusted=false", bundle).status_code == 200
    refused = fhir.post("/Bundle/$verify-signature?trusted=yes", bundle)
    assert refused.status_code == 400 and "trusted" in outcome_text(refused)
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": bundle},
                                                              {"name": "trusted", "valueBoolean": True}]}
    answer = fhir.post("/Bundle/$verify-signature", parameters)
    assert answer.status_code == 200 and answer.get_json()["issue"][0]["severity"] == "error"  # unsigned
