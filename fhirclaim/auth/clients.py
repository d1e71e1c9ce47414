"""OAuth2 clients (client credentials grant), bearer tokens, revocation, and the slow-down of repeated failures.

SATUSEHAT's shape: `POST /oauth2/v1/accesstoken?grant_type=client_credentials` with form `client_id`,
`client_secret`; tokens live an hour; a failed request costs the caller a wait (SATUSEHAT: one minute). Here the
waits are counted per client and source address (`throttle.py`), so a guesser delays only itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhirclaim.auth import credentials
from fhirclaim.auth.principal import HOSPITAL_ROLES, ROLES, Principal
from fhirclaim.auth.throttle import LoginThrottle, client_key, unknown_client_key
from fhirclaim.clock import naive_utc_now
from fhirclaim.store.clients import lookup_token
from fhirclaim.store.unit_of_work import Store, UnitOfWork


class AuthError(Exception):
    """A token request refused: `error` is the OAuth2 error code; `retry_after` seconds when slowed down."""

    def __init__(self, error: str, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.retry_after = retry_after


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal
    issued_at: datetime


class ClientRegistry:
    def __init__(self, store: Store, *, token_lifetime_seconds: int = 3600,
                 clock: Callable[[], datetime] | None = None):
        self.store = store
        self.token_lifetime = timedelta(seconds=token_lifetime_seconds)
        self.throttle = LoginThrottle(store, **({"clock": clock} if clock else {}))

    # --- clients -------------------------------------------------------------------------------------------

    def add_client(self, role: str, org: str | None = None, name: str | None = None) -> tuple[str, str]:
        """A new client; returns (client_id, client_secret). The secret is shown once and stored hashed."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if role in HOSPITAL_ROLES and not org:
            raise ValueError(f"a {role} client acts for one organization: give --org")
        client_id, secret = credentials.new_client_id(), credentials.new_secret()
        with self.store.unit_of_work() as uow:
            uow.clients.add(client_id, credentials.hash_secret(secret), role=role,
                            org=org if role in HOSPITAL_ROLES else None, name=name, created_at=naive_utc_now())
        return client_id, secret

    def list_clients(self) -> list[dict[str, Any]]:
        with self.store.unit_of_work(write=False) as uow:
            return [{"client_id": r.client_id, "role": r.role, "org": r.org, "name": r.name,
                     "created_at": r.created_at.isoformat() + "Z", "disabled": r.disabled} for r in uow.clients.all()]

    def disable(self, client_id: str) -> bool:
        """Disable a client and revoke every token it holds."""
        with self.store.unit_of_work() as uow:
            changed = uow.clients.disable(client_id)
            uow.tokens.revoke_all_of(client_id)
        return changed

    def principal_of(self, client_id: str) -> Principal | None:
        with self.store.unit_of_work(write=False) as uow:
            row = uow.clients.get(client_id)
            return Principal(row.client_id, row.role, row.org) if row and not row.disabled else None

    # --- tokens --------------------------------------------------------------------------------------------

    def request_token(self, client_id: str, secret: str, remote: str) -> IssuedToken:
        """The client credentials grant; AuthError `slow_down` (429) while this client's failures from this address
        (or unknown ids' from this address) are over the cap, `invalid_client` (401) for a failure."""
        with self.store.unit_of_work(write=False) as uow:
            row = uow.clients.get(client_id) if client_id and len(client_id) <= 64 else None
            stored_hash = row.secret_hash if row else credentials.DUMMY_HASH
        key = client_key(row.client_id, remote) if row else unknown_client_key(remote)
        wait = self.throttle.reserve(key)
        if wait is not None:
            raise AuthError("slow_down", f"Too many failed token requests: wait {wait} s", retry_after=wait)
        valid = credentials.verify_secret(secret or "", stored_hash)  # same work for unknown ids
        if row is None or not valid or row.disabled:
            raise AuthError("invalid_client", "Unknown client, wrong secret, or disabled client")
        self.throttle.clear(key)
        return self.issue(Principal(row.client_id, row.role, row.org))

    def issue(self, principal: Principal) -> IssuedToken:
        token, now = credentials.new_token(), naive_utc_now()
        with self.store.unit_of_work() as uow:
            uow.tokens.add(credentials.token_hash(token), principal.client_id, issued_at=now,
                           expires_at=now + self.token_lifetime)
        return IssuedToken(token, int(self.token_lifetime.total_seconds()), principal, now)

    def resolve(self, token: str, within: UnitOfWork | None = None,
                reading: tuple[str, str] | None = None) -> tuple[Principal | None, str | None]:
        """(principal, None) for a live token, else (None, why): unknown, expired, revoked, client disabled.

        Every request: one prepared statement, in the read transaction `within` that then serves the request, or on
        a pooled connection of its own (issue 17). The token's revocation and its client's are read each time, so a
        revocation committed by any process counts at once. `reading`: the (type, id) the request reads in
        `within`, fetched by the same statement for a hospital's read (`TokenRepository.lookup_reading`)."""
        token_hash = credentials.token_hash(token)
        if within is None:
            row = lookup_token(self.store.database, token_hash)
        else:
            tokens = within.tokens
            row = tokens.lookup(token_hash) if reading is None else tokens.lookup_reading(token_hash, *reading)
        if row is None:
            return None, "The access token is not known"
        if row.revoked:
            return None, "The access token was revoked"
        if row.expires_at <= naive_utc_now():
            return None, "The access token has expired"
        if row.disabled is not False:  # disabled, or no such client any more
            return None, "The client of this access token is disabled"
        return Principal(row.client_id, row.role, row.org), None

    def revoke(self, token: str) -> bool:
        with self.store.unit_of_work() as uow:
            return uow.tokens.revoke(credentials.token_hash(token))
