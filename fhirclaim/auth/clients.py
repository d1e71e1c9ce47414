"""OAuth2 clients (client credentials grant), bearer tokens, revocation, and the slow-down of repeated failures.

SATUSEHAT's shape: `POST /oauth2/v1/accesstoken?grant_type=client_credentials` with form `client_id`,
`client_secret`; tokens live an hour; a failed request costs the caller a wait (SATUSEHAT: one minute). Here each
failure of a client id or a remote address doubles the wait, from 1 s up to 5 minutes, and a success clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update

from fhirclaim.auth import credentials
from fhirclaim.auth.principal import HOSPITAL_ROLES, ROLES, Principal
from fhirclaim.store.access import ClientRow, FailedLoginRow, TokenRow
from fhirclaim.store.unit_of_work import Store

FREE_FAILURES = 3  # a typo or two costs nothing
FIRST_WAIT = timedelta(seconds=1)
LONGEST_WAIT = timedelta(minutes=5)


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


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ClientRegistry:
    def __init__(self, store: Store, *, token_lifetime_seconds: int = 3600):
        self.store = store
        self.token_lifetime = timedelta(seconds=token_lifetime_seconds)

    # --- clients -------------------------------------------------------------------------------------------

    def add_client(self, role: str, org: str | None = None, name: str | None = None) -> tuple[str, str]:
        """A new client; returns (client_id, client_secret). The secret is shown once and stored hashed."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if role in HOSPITAL_ROLES and not org:
            raise ValueError(f"a {role} client acts for one organization: give --org")
        client_id, secret = credentials.new_client_id(), credentials.new_secret()
        with self.store.unit_of_work() as uow:
            uow.session.add(ClientRow(client_id=client_id, secret_hash=credentials.hash_secret(secret), role=role,
                                      org=org if role in HOSPITAL_ROLES else None, name=name, created_at=_now(),
                                      disabled=False))
        return client_id, secret

    def list_clients(self) -> list[dict[str, Any]]:
        with self.store.unit_of_work(write=False) as uow:
            rows = uow.session.execute(select(ClientRow).order_by(ClientRow.created_at)).scalars()
            return [{"client_id": r.client_id, "role": r.role, "org": r.org, "name": r.name,
                     "created_at": r.created_at.isoformat() + "Z", "disabled": r.disabled} for r in rows]

    def disable(self, client_id: str) -> bool:
        """Disable a client and revoke every token it holds."""
        with self.store.unit_of_work() as uow:
            changed = uow.session.execute(update(ClientRow).where(ClientRow.client_id == client_id)
                                          .values(disabled=True)).rowcount
            uow.session.execute(update(TokenRow).where(TokenRow.client_id == client_id).values(revoked=True))
        return changed == 1

    def principal_of(self, client_id: str) -> Principal | None:
        with self.store.unit_of_work(write=False) as uow:
            row = uow.session.get(ClientRow, client_id)
            return Principal(row.client_id, row.role, row.org) if row and not row.disabled else None

    # --- tokens --------------------------------------------------------------------------------------------

    def request_token(self, client_id: str, secret: str, remote: str) -> IssuedToken:
        """The client credentials grant, slowed down after repeated failures of the id or the address."""
        keys = [f"client:{client_id}"[:128], f"addr:{remote}"[:128]]
        self._check_not_blocked(keys)
        with self.store.unit_of_work(write=False) as uow:
            row = uow.session.get(ClientRow, client_id) if client_id else None
            stored_hash = row.secret_hash if row else credentials.DUMMY_HASH
        valid = credentials.verify_secret(secret or "", stored_hash)  # same work for unknown ids
        if row is None or not valid or row.disabled:
            self._record_failure(keys)
            raise AuthError("invalid_client", "Unknown client, wrong secret, or disabled client")
        self._clear_failures(keys)
        return self.issue(Principal(row.client_id, row.role, row.org))

    def issue(self, principal: Principal) -> IssuedToken:
        token, now = credentials.new_token(), _now()
        with self.store.unit_of_work() as uow:
            uow.session.add(TokenRow(token_hash=credentials.token_hash(token), client_id=principal.client_id,
                                     issued_at=now, expires_at=now + self.token_lifetime, revoked=False))
        return IssuedToken(token, int(self.token_lifetime.total_seconds()), principal, now)

    def resolve(self, token: str) -> tuple[Principal | None, str | None]:
        """(principal, None) for a live token, else (None, why): unknown, expired, revoked, client disabled."""
        with self.store.unit_of_work(write=False) as uow:
            row = uow.session.get(TokenRow, credentials.token_hash(token))
            if row is None:
                return None, "The access token is not known"
            if row.revoked:
                return None, "The access token was revoked"
            if row.expires_at <= _now():
                return None, "The access token has expired"
            client = uow.session.get(ClientRow, row.client_id)
            if client is None or client.disabled:
                return None, "The client of this access token is disabled"
            return Principal(client.client_id, client.role, client.org), None

    def revoke(self, token: str) -> bool:
        with self.store.unit_of_work() as uow:
            return uow.session.execute(update(TokenRow).where(TokenRow.token_hash == credentials.token_hash(token))
                                       .values(revoked=True)).rowcount == 1

    # --- slowing repeated failures down --------------------------------------------------------------------

    def _check_not_blocked(self, keys: list[str]) -> None:
        now = _now()
        with self.store.unit_of_work(write=False) as uow:
            rows = uow.session.execute(select(FailedLoginRow).where(FailedLoginRow.key.in_(keys))).scalars()
            waits = [(r.blocked_until - now).total_seconds() for r in rows if r.blocked_until and r.blocked_until > now]
        if waits:
            wait = max(1, round(max(waits) + 0.5))
            raise AuthError("slow_down", f"Too many failed token requests: wait {wait} s", retry_after=wait)

    def _record_failure(self, keys: list[str]) -> None:
        now = _now()
        with self.store.unit_of_work() as uow:
            for key in keys:
                row = uow.session.get(FailedLoginRow, key)
                if row is None:
                    row = FailedLoginRow(key=key, failures=0, last_failure_at=now)
                    uow.session.add(row)
                row.failures += 1
                row.last_failure_at = now
                over = row.failures - FREE_FAILURES
                if over > 0:
                    row.blocked_until = now + min(LONGEST_WAIT, FIRST_WAIT * 2 ** (over - 1))

    def _clear_failures(self, keys: list[str]) -> None:
        with self.store.unit_of_work() as uow:
            for key in keys:
                row = uow.session.get(FailedLoginRow, key)
                if row is not None:
                    uow.session.delete(row)
