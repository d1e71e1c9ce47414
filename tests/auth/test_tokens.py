"""OAuth2 client credentials (SATUSEHAT shape), token expiry and revocation, slow-down of failures, 401s."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from fhirclaim.store.access import TokenRow

from testkit import HOSPITAL


@pytest.fixture
def credentials(runtime):
    client_id, secret = runtime.clients.add_client("facility", HOSPITAL, "SIMRS")
    return client_id, secret


def _token(app, client_id, secret, **kw):
    return app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                  data={"client_id": client_id, "client_secret": secret}, **kw)


def test_client_credentials_grant_answers_the_satusehat_shape(app, credentials):
    response = _token(app, *credentials)
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["client_id"] == credentials[0] and body["organization_id"] == HOSPITAL
    assert len(body["access_token"]) >= 40
    read = app.test_client().get("/fhir/Patient", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert read.status_code == 200


def test_basic_authentication_is_accepted_too(app, credentials):
    response = app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                      auth=credentials)
    assert response.status_code == 200


def test_wrong_secret_unknown_client_and_grant(app, credentials):
    wrong = _token(app, credentials[0], "nope")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    assert _token(app, "ghost", "nope").get_json()["error"] == "invalid_client"
    grant = app.test_client().post("/oauth2/v1/accesstoken?grant_type=password", data={})
    assert grant.status_code == 400 and grant.get_json()["error"] == "unsupported_grant_type"


def test_repeated_failures_are_slowed_down_then_cleared(app, runtime, credentials, clock):
    for _ in range(3):  # three evaluations; the third starts the wait
        assert _token(app, credentials[0], "typo").status_code == 401
    blocked = _token(app, *credentials)  # from the same address: this pair waits
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "1"
    assert blocked.get_json()["error"] == "slow_down"
    clock.advance(1)  # the wait has passed
    assert _token(app, *credentials).status_code == 200
    assert _token(app, credentials[0], "typo").status_code == 401  # counting started again from zero


def test_the_secret_is_stored_hashed(runtime, credentials):
    from fhirclaim.store.access import ClientRow

    with runtime.store.unit_of_work(write=False) as uow:
        row = uow.session.get(ClientRow, credentials[0])
    assert credentials[1] not in row.secret_hash and row.secret_hash.startswith("scrypt$")


@pytest.mark.parametrize(("header", "why"), [
    (None, "invalid_request"),
    ("Basic abc", "invalid_request"),
    ("Bearer", "invalid_request"),
    ("Bearer not-a-token", "invalid_token"),
])
def test_missing_or_malformed_tokens_are_401_with_www_authenticate(app, header, why):
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/fhir/Claim", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="fhirclaim", error="{why}"'
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert response.get_json()["issue"][0]["code"] == "login"


def test_expired_revoked_and_disabled(app, runtime, credentials):
    token = _token(app, *credentials).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/fhir/Patient", headers=headers).status_code == 200
    with runtime.store.unit_of_work() as uow:
        uow.session.execute(update(TokenRow).values(expires_at=datetime.utcnow() - timedelta(seconds=1)))
    expired = client.get("/fhir/Patient", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.get_json()["issue"][0]["details"]["text"]

    token = _token(app, *credentials).get_json()["access_token"]
    assert client.post("/oauth2/v1/revoke", data={"token": token}).status_code == 200
    revoked = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["issue"][0]["details"]["text"]

    token = _token(app, *credentials).get_json()["access_token"]
    runtime.clients.disable(credentials[0])
    assert client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _token(app, *credentials).status_code == 401


def test_public_endpoints_need_no_token(app):
    client = app.test_client()
    assert client.get("/fhir/metadata").status_code == 200
    assert client.get("/fhir/.well-known/jwks.json").get_json()["keys"][0]["kty"] in ("RSA", "EC")


# --- the body of a token request: a form, never JSON ---------------------------------------------------------------


def _json_token(app, client_id, secret, **body):
    return app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                  json={"client_id": client_id, "client_secret": secret, **body})


def _failures(runtime) -> dict[str, int]:
    from fhirclaim.store.access import FailedLoginRow

    with runtime.store.unit_of_work(write=False) as uow:
        return {row.key: row.failures for row in uow.session.query(FailedLoginRow)}


def test_a_json_body_is_a_400_invalid_request_saying_the_body_must_be_a_form(app, credentials):
    response = _json_token(app, *credentials)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert "body must be application/x-www-form-urlencoded" in body["error_description"]
    assert "access_token" not in body


def test_json_sent_under_a_form_content_type_is_recognised_too(app, credentials):
    """`curl -d '{"client_id": ...}'` declares application/x-www-form-urlencoded."""
    raw = f'{{"client_id": "{credentials[0]}", "client_secret": "{credentials[1]}"}}'
    response = app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials", data=raw,
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_grant_type_in_a_json_body_is_the_same_400(app, credentials):
    response = app.test_client().post("/oauth2/v1/accesstoken", json={"grant_type": "client_credentials",
                                                                      "client_id": credentials[0]})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_json_attempts_do_not_count_as_failures_nor_lock_the_client_out(app, runtime, credentials):
    for _ in range(10):  # far past the free failures
        assert _json_token(app, *credentials).status_code == 400
    assert _failures(runtime) == {}
    assert _token(app, *credentials).status_code == 200  # the same client, now with a form


def test_json_attempts_do_not_clear_a_slow_down_either(app, runtime, credentials, clock):
    for _ in range(3):
        assert _token(app, credentials[0], "typo").status_code == 401
    assert _token(app, *credentials).status_code == 429
    counted = _failures(runtime)
    assert _json_token(app, *credentials).status_code == 400
    assert _failures(runtime) == counted  # neither cleared nor counted
    assert _token(app, *credentials).status_code == 429


def test_form_and_basic_requests_are_unchanged(app, credentials):
    assert _token(app, *credentials).status_code == 200
    multipart = app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                       data={"client_id": credentials[0], "client_secret": credentials[1]},
                                       content_type="multipart/form-data")
    assert multipart.status_code == 200
    basic = app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials", auth=credentials,
                                   content_type="application/json")  # no body: the declared type does not matter
    assert basic.status_code == 200
