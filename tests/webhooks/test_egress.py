"""Outbound calls only where allowed (issue 13, part 5): endpoints must be public http(s) addresses unless an
operator allowed them, checked when the Subscription is written and again on the address actually connected to;
privileged headers only from an admin's Subscription; `Subscription.error` names no internal address."""

from __future__ import annotations

import socket

import pytest
from webhook_helpers import CRITERIA_X, claim, claim_response, subscription

from fhirclaim.store.scope import tenant_scope
from fhirclaim.webhooks import WebhookDeliveryWorker, egress, list_deliveries

from testkit import HOSPITAL, authorized, outcome_text

REFUSED_ENDPOINTS = {
    "another loopback address": "http://127.0.0.2:9/hook",
    "localhost by name": "http://localhost:8080/admin/clients",
    "cloud metadata (link-local)": "http://169.254.169.254/latest/meta-data/",
    "private network": "http://10.1.2.3/hook",
    "IPv6 loopback": "http://[::1]:8080/hook",
    "IPv4-mapped private": "http://[::ffff:10.0.0.1]/hook",
    "unspecified": "http://0.0.0.0:8080/hook",
}


@pytest.mark.parametrize("endpoint", REFUSED_ENDPOINTS.values(), ids=REFUSED_ENDPOINTS.keys())
def test_internal_endpoints_are_refused_when_written(fhir, endpoint):
    response = fhir.post("/Subscription", subscription(endpoint))
    assert response.status_code == 400, response.get_json()
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "security" and issue["expression"] == ["Subscription.channel.endpoint"]
    assert fhir.get("/Subscription?_count=0").get_json()["total"] == 0


@pytest.mark.parametrize("endpoint", ["http://93.184.216.34/hook", "https://simrs.example/hook",
                                      "http://127.0.0.1:9/hook"])
def test_public_unresolvable_and_allowed_endpoints_are_accepted(fhir, endpoint):
    """A public address; a name that does not resolve now (delivery checks it then); 127.0.0.1, which the
    test settings allow explicitly (FHIRCLAIM_WEBHOOK_ALLOWED_HOSTS)."""
    assert fhir.post("/Subscription", subscription(endpoint)).status_code == 201


def _change(service) -> None:
    service(lambda s: s.update("Claim", "c1", claim("c1", "x")))
    service(lambda s: s.update("ClaimResponse", "r1", claim_response("r1", "c1", "x")))


@pytest.fixture
def dns(monkeypatch):
    """What DNS answers at delivery time: `rebind.invalid` now resolves to this machine."""
    real = socket.getaddrinfo
    answers: dict[str, str] = {}

    def getaddrinfo(host, *args, **kwargs):
        return real(answers.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _worker(runtime, settings, clock, **changes) -> WebhookDeliveryWorker:
    return WebhookDeliveryWorker(runtime.store, runtime.secrets, settings.model_copy(update=changes), clock=clock)


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_there(fhir, shared, service, runtime, settings,
                                                                          clock, receiver, dns):
    port = receiver.server.server_address[1]
    endpoint = f"http://rebind.invalid:{port}/hook"
    created = fhir.post("/Subscription", subscription(endpoint))  # unresolvable when written: accepted
    assert created.status_code == 201
    dns["rebind.invalid"] = "127.0.0.1"
    _change(service)
    worker = _worker(runtime, settings, clock, webhook_allowed_hosts="", webhook_max_attempts=1)
    assert worker.run_once() == 1
    assert receiver.received == []  # refused on the connected address, before a byte was sent
    [delivery] = list_deliveries(worker.store)
    assert (delivery["status"], delivery["last_error"]) == ("dead", egress.REFUSED)
    error = fhir.get(f"/Subscription/{created.get_json()['id']}").get_json()["error"]
    assert egress.REFUSED in error and "127.0.0.1" not in error and str(port) not in error


def test_an_allowed_name_is_delivered_wherever_it_resolves(fhir, shared, service, runtime, settings, clock,
                                                           receiver, dns):
    port = receiver.server.server_address[1]
    assert fhir.post("/Subscription", subscription(f"http://hooks.internal:{port}/hook")).status_code == 201
    dns["hooks.internal"] = "127.0.0.1"
    _change(service)
    worker = _worker(runtime, settings, clock, webhook_allowed_hosts="hooks.internal")
    assert worker.run_once() == 1
    assert len(receiver.received) == 1


@pytest.mark.parametrize("header", ["Authorization: Bearer stolen", "Cookie: session=1", "host: admin.internal",
                                    "AUTHORIZATION:Basic eDp5"])
def test_a_tenant_may_not_set_credentials_or_host(fhir, header):
    resource = subscription("https://simrs.example/hook")
    resource["channel"]["header"] = ["X-Api-Key: fine", header]
    response = fhir.post("/Subscription", resource)
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["expression"] == ["Subscription.channel.header[1]"]
    assert "only an admin" in outcome_text(response)


def test_an_admins_subscription_may_carry_authorization(app, shared, service, worker, receiver):
    resource = subscription(receiver.url, criteria=CRITERIA_X)
    resource["channel"]["header"] = ["Authorization: Bearer for-the-receiver"]
    created = authorized(app, "admin").post("/Subscription", resource)
    assert created.status_code == 201
    _change(service)
    assert worker.run_once() == 1
    assert receiver.received[0].headers["authorization"] == "Bearer for-the-receiver"
    # admin's Subscription is admin's alone: no hospital reads its headers
    assert authorized(app).get(f"/Subscription/{created.get_json()['id']}").status_code == 404
    assert authorized(app).get("/Subscription?_count=0").get_json()["total"] == 0


def test_a_tenants_stored_authorization_header_is_not_sent(runtime, shared, service, worker, receiver):
    """A Subscription written before the rule (straight into the store) still cannot send credentials."""
    resource = subscription(receiver.url)
    resource["channel"]["header"] = ["Authorization: Bearer stolen", "X-Api-Key: fine"]
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:
        runtime.fhir_service(uow, author="facility:old").create(resource)
    _change(service)
    assert worker.run_once() == 1
    [hit] = receiver.received
    assert "authorization" not in hit.headers and hit.headers["x-api-key"] == "fine"


def test_this_servers_own_public_address_is_refused():
    policy = egress.EgressPolicy("", server_hosts=("8.8.8.8",))
    assert policy.address_refusal("8.8.8.8") == egress.REFUSED
    assert policy.address_refusal("::ffff:8.8.8.8") == egress.REFUSED
    assert policy.address_refusal("8.8.4.4") is None
    allowed = egress.EgressPolicy("10.0.0.0/8, hooks.internal")
    assert allowed.address_refusal("10.2.3.4") is None and allowed.address_refusal("10.2.3.4", "x") is None
    assert allowed.address_refusal("127.0.0.1", "hooks.internal") is None
    assert allowed.address_refusal("127.0.0.1", "other.internal") == egress.REFUSED
    assert allowed.address_refusal("not-an-address") == egress.REFUSED


@pytest.mark.parametrize("endpoint", ["http://[::1/hook", "http://h.example:99999/", "http://h.example:abc/",
                                      "http://", "javascript:alert(1)"])
def test_malformed_endpoints_are_422_not_500(fhir, endpoint):
    response = fhir.post("/Subscription", subscription(endpoint))
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["expression"] == ["Subscription.channel.endpoint"]
