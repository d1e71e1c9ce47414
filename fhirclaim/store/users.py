"""The web app's users: people of a hospital's claim unit (coder, verifier, manager), their password hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fhirclaim.store.models import UserRow


@dataclass(frozen=True)
class User:
    username: str
    org: str
    role: str
    disabled: bool
    created_at: datetime


def _user(row: UserRow) -> User:
    return User(row.username, row.org, row.role, row.disabled, row.created_at)


class UserRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, username: str, password_hash: str, org: str, role: str, now: datetime) -> bool:
        """False when the username is taken."""
        if self.session.get(UserRow, username) is not None:
            return False
        self.session.add(UserRow(username=username, password_hash=password_hash, org=org, role=role,
                                 created_at=now, disabled=False))
        return True

    def get(self, username: str) -> User | None:
        row = self.session.get(UserRow, username)
        return _user(row) if row else None

    def password_hash(self, username: str) -> str | None:
        """The stored hash of an enabled user, else None."""
        row = self.session.get(UserRow, username)
        return row.password_hash if row is not None and not row.disabled else None

    def all(self) -> list[User]:
        return [_user(r) for r in self.session.execute(select(UserRow).order_by(UserRow.username)).scalars()]

    def disable(self, username: str) -> bool:
        result = self.session.execute(update(UserRow).where(UserRow.username == username).values(disabled=True))
        return result.rowcount == 1
