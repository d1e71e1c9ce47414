"""The landing page at / and /fhir (no token): what the server is, links to its descriptions, the sandbox clients
file (never its secrets); a FHIR client asking the base for FHIR JSON gets an OperationOutcome instead. The Swagger UI
page at /docs and its files are served from the swagger-ui-bundle package, with nothing fetched from elsewhere."""

from __future__ import annotations

import html
import json
import re

import pytest

from fhirclaim import __version__
from fhirclaim.app import create_app
from fhirclaim.runtime import Runtime

from testkit import outcome_text

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
URL = re.compile(r"""https?://[^\s"'<>]+""")
LINK = re.compile(r"""(?:href|src)="([^"]+)\"""")


@pytest.fixture
def sandbox_app(settings):
    sandbox = settings.model_copy(update={"sandbox": True})
    runtime = Runtime(sandbox)
    yield create_app(sandbox, runtime)
    runtime.close()


@pytest.mark.parametrize("path", ["/", "/fhir", "/fhir/"])
@pytest.mark.parametrize("headers", [BROWSER, {}, {"Accept": "*/*"}])
def test_a_browser_gets_the_landing_page(app, path, headers):
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "JKN / BPJS Kesehatan" in page and f"fhirclaim <small>{__version__}</small>" in page
    links = set(LINK.findall(page))
    assert {"/fhir/metadata", "/openapi.json", "/docs", "/fhir/OperationDefinition",
            "/fhir/OperationDefinition/Claim-submit", "/fhir/.well-known/jwks.json"} <= links
    assert "http://localhost/fhir" in page and "http://localhost/oauth2/v1/accesstoken" in page
    assert not [u for u in URL.findall(page) if not u.startswith("http://localhost/")]  # nothing from elsewhere
    assert "sandbox-clients.json" not in page  # not a sandbox


def test_every_link_of_the_landing_page_answers(app):
    client = app.test_client()
    for link in LINK.findall(client.get("/").get_data(as_text=True)):
        assert client.get(link).status_code == 200, link


def test_a_fhir_client_asking_the_base_gets_an_operation_outcome(app):
    client = app.test_client()
    for accept in ("application/fhir+json", "application/json", "application/json, text/plain, */*"):
        response = client.get("/fhir", headers={"Accept": accept})
        assert response.status_code == 400 and response.mimetype == "application/fhir+json", accept
        assert response.get_json()["resourceType"] == "OperationOutcome"
        assert "http://localhost/fhir/metadata" in outcome_text(response)
    assert client.get("/fhir?_format=json").status_code == 400
    assert client.get("/fhir", headers={"Accept": "application/fhir+xml"}).status_code == 406


def test_the_fhir_base_still_takes_transactions(fhir):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": []}
    for path in ("", "/"):
        response = fhir.post(path, bundle)
        assert response.status_code == 200 and response.get_json()["type"] == "batch-response"


def test_the_sandbox_page_names_the_clients_file_and_no_secret(sandbox_app):
    runtime = sandbox_app.extensions["fhirclaim"]
    clients_file = runtime.data_dir / "sandbox-clients.json"
    secret = "s3cr3t-sandbox-client-secret-value"
    clients_file.write_text(json.dumps({"facility": {"client_id": "sandbox-facility-id", "client_secret": secret,
                                                     "org": "10000004"}}))
    page = sandbox_app.test_client().get("/", headers=BROWSER).get_data(as_text=True)
    assert 'id="sandbox"' in page
    assert html.escape(str(clients_file)) in page
    assert secret not in page and "sandbox-facility-id" not in page
    statement = sandbox_app.test_client().get("/fhir/metadata").get_json()
    assert statement["implementation"]["description"].endswith("(sandbox)")


def test_values_in_the_page_are_escaped(settings, runtime):
    hostile = settings.model_copy(update={"public_base_url": "https://x.example/<script>alert(1)</script>/fhir"})
    page = create_app(hostile, runtime).test_client().get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_swagger_ui_page_and_its_files_are_served_here(app):
    client = app.test_client()
    for path in ("/docs", "/docs/"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "text/html"
    page = client.get("/docs").get_data(as_text=True)
    assert URL.findall(page) == []  # no CDN, no external URL at all: the machines are offline
    assert '"/openapi.json"' in page and "validatorUrl: null" in page
    assets = [link for link in LINK.findall(page) if link.startswith("/docs/static/")]
    assert "/docs/static/swagger-ui-bundle.js" in assets and "/docs/static/swagger-ui.css" in assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.get_data()) > 500, asset
    assert client.get("/docs/static/swagger-ui-bundle.js").mimetype in ("text/javascript", "application/javascript")
    assert client.get("/docs/static/nope.js").status_code == 404
    assert client.get("/docs/static/../__init__.py").status_code == 404
