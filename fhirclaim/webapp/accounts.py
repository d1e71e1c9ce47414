"""People of a hospital's claim unit: who they are, their role, their password (a slow hash), and sign-in with a
lockout that nobody can turn against someone else.

Passwords are hashed with scrypt through `auth.credentials` (the same memory-hard hash as the OAuth2 client
secrets: one mechanism). Failed sign-ins are slowed down by the token endpoint's `LoginThrottle`, keyed per
(username, source address): a guesser elsewhere never locks the owner out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhirclaim.auth import credentials
from fhirclaim.auth.principal import FACILITY, Principal
from fhirclaim.auth.throttle import LoginThrottle
from fhirclaim.clock import naive_utc_now
from fhirclaim.store.unit_of_work import Store
from fhirclaim.store.users import User

USER_ROLES = ("coder", "verifier", "manager")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
ORG = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
MIN_PASSWORD = 10
# What each role may do on a claim page (a manager may do everything a coder or a verifier may).
ACTIONS = {"choose-special-cmg": ("coder", "manager"), "answer-purification": ("verifier", "manager"),
           "answer-pending": ("verifier", "manager"), "resubmit": ("coder", "verifier", "manager")}


class AccountError(ValueError):
    """A user cannot be added or changed as asked; the message says why."""


class SignInRefused(Exception):
    """Wrong username or password (which one is not said), or `retry_after` seconds of waiting first."""

    def __init__(self, retry_after: int | None = None):
        super().__init__("sign-in refused")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    user: User

    @property
    def principal(self) -> Principal:
        """Exactly what the hospital's facility client may see and do (the same scope and authorizer)."""
        return Principal(client_id=f"user-{self.user.username}", role=FACILITY, org=self.user.org)

    @property
    def author(self) -> str:
        """The name under which the user's writes are versioned and audited."""
        return f"user:{self.user.username}"

    def may(self, action: str) -> bool:
        return self.user.role in ACTIONS.get(action, ())




class UserAccounts:
    def __init__(self, store: Store, throttle: LoginThrottle | None = None):
        self.store = store
        self.throttle = throttle or LoginThrottle(store)

    def add(self, username: str, password: str, *, org: str, role: str) -> User:
        if not USERNAME.match(username):
            raise AccountError("username: 3 to 64 of a-z 0-9 . _ -, starting with a letter or digit")
        if role not in USER_ROLES:
            raise AccountError(f"role must be one of {', '.join(USER_ROLES)}")
        if not ORG.match(org):
            raise AccountError("org must be the hospital's organization id (letters, digits, '.', '-')")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
        with self.store.unit_of_work() as uow:
            if not uow.users.add(username, credentials.hash_secret(password), org, role, naive_utc_now()):
                raise AccountError(f"user {username!r} exists already")
            return uow.users.get(username)

    def list(self) -> list[User]:
        with self.store.unit_of_work(write=False) as uow:
            return uow.users.all()

    def disable(self, username: str) -> bool:
        with self.store.unit_of_work() as uow:
            return uow.users.disable(username)

    def active(self, username: str) -> User | None:
        """The user of a session, while enabled."""
        with self.store.unit_of_work(write=False) as uow:
            user = uow.users.get(username)
        return user if user is not None and not user.disabled else None

    def sign_in(self, username: str, password: str, address: str) -> SignedIn:
        """The user, when the password is right and the (username, address) key is not waiting. Names that are
        not users share one key per address (as unknown client ids do at the token endpoint): guessing names
        neither grows the failure table nor escapes the cap."""
        with self.store.unit_of_work(write=False) as uow:
            stored = uow.users.password_hash(username)
        key = f"user:{username[:64]}@{address}" if stored else f"unknown-user@{address}"
        wait = self.throttle.reserve(key)
        if wait is not None:
            raise SignInRefused(retry_after=wait)
        if not credentials.verify_secret(password, stored or credentials.DUMMY_HASH) or stored is None:
            raise SignInRefused()
        self.throttle.clear(key)
        return SignedIn(self.active(username))
