"""Behind a TLS-terminating proxy: the scheme of the URLs in answers is the one a trusted proxy's X-Forwarded-Proto
names (`api/forwarded_proto.py`), on the lean create and on Flask's paths alike; anyone else's header changes
nothing."""

from __future__ import annotations

import ipaddress

import pytest

from fhirclaim.api.forwarded_proto import forwarded_scheme
from fhirclaim.app import create_app
from fhirclaim.runtime import Runtime

from testkit import authorized

PATIENT = {"resourceType": "Patient", "gender": "female"}
PROXY = "10.20.0.5"


@pytest.fixture
def proxied(settings):
    """An app whose trusted proxies are 10.20.0.0/16, and a facility client."""
    trusted = settings.model_copy(update={"trusted_proxies": "10.20.0.0/16"})
    runtime = Runtime(trusted)
    yield authorized(create_app(trusted, runtime))
    runtime.close()


def _urls(client, peer: str, proto: str | None) -> tuple[str, str]:
    """A create's Location (the lean path) and a search Bundle's self link (Flask's), asked from `peer`."""
    headers = {"X-Forwarded-Proto": proto} if proto is not None else {}
    created = client.post("/Patient", PATIENT, headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert created.status_code == 201, created.get_data(as_text=True)
    found = client.get("/Patient?gender=female", headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert found.status_code == 200
    [self_link] = [link["url"] for link in found.get_json()["link"] if link["relation"] == "self"]
    return created.headers["Location"], self_link


def test_a_trusted_proxys_https_is_the_scheme_of_every_url_answered(proxied):
    location, self_link = _urls(proxied, PROXY, "https")
    assert location.startswith("https://localhost/fhir/Patient/")
    assert self_link.startswith("https://localhost/fhir/Patient?")


def test_without_the_header_or_from_an_untrusted_peer_the_request_s_own_scheme_stands(proxied):
    for peer, proto in ((PROXY, None), ("192.0.2.7", "https"), ("127.0.0.1", "https"), (PROXY, "ftp")):
        location, self_link = _urls(proxied, peer, proto)
        assert location.startswith("http://localhost/fhir/Patient/"), (peer, proto)
        assert self_link.startswith("http://localhost/fhir/Patient?"), (peer, proto)


def test_with_no_trusted_proxy_the_header_is_ignored(app):
    location, self_link = _urls(authorized(app), "127.0.0.1", "https")
    assert location.startswith("http://localhost/") and self_link.startswith("http://localhost/")


@pytest.mark.parametrize("header,scheme", [
    ("https", "https"), ("HTTPS", "https"), (" http ", "http"), ("http, https", "https"), ("https,http", "http"),
    ("ftp", None), ("", None), ("https, javascript", None), (None, None),
])
def test_the_value_the_nearest_proxy_added_is_read(header, scheme):
    trusted = (ipaddress.ip_network("10.20.0.0/16"),)
    assert forwarded_scheme(PROXY, header, trusted) == scheme
    assert forwarded_scheme("10.21.0.1", header, trusted) is None
    assert forwarded_scheme(None, header, trusted) is None
