"""OAuth2 clients and their bearer tokens as stored (auth/clients.py decides who gets one and for how long).

Rows hold only hashes: a client's secret hash and each token's SHA-256, never the secret or the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from fhirclaim.store.access import ClientRow, TokenRow
from fhirclaim.store.db import Database
from fhirclaim.store.execution import read_before_begin
from fhirclaim.store.models import ResourceRow
from fhirclaim.store.repository import read_ahead, rows_read_ahead


@dataclass(frozen=True)
class TokenHolder:
    """A bearer token's state and its client's, as `lookup_token` reads them (client fields None: no such client)."""

    revoked: bool
    expires_at: datetime
    client_id: str | None
    role: str | None
    org: str | None
    disabled: bool | None


# A bearer token with its client, by the token's hash (built once: SQLAlchemy caches its compiled form).
_TOKEN_LOOKUP = (select(TokenRow.revoked, TokenRow.expires_at, ClientRow.client_id, ClientRow.role, ClientRow.org,
                        ClientRow.disabled)
                 .outerjoin(ClientRow, ClientRow.client_id == TokenRow.client_id)
                 .where(TokenRow.token_hash == bindparam("token_hash")))
_HOLDER_FIELDS = len(_TOKEN_LOOKUP.selected_columns)  # TokenHolder's: the first columns of both statements


# The same, and the rows of one type and id its client's organization sees (`repository.rows_read_ahead`): a read's
# token and its resource in one statement. A token of no client, or of a client with no organization, has none.
_RESOURCE_COLUMNS, _SEEN_BY_ORG = rows_read_ahead(ClientRow.org)
_TOKEN_AND_READ = (select(*_TOKEN_LOOKUP.selected_columns, *_RESOURCE_COLUMNS)
                   .select_from(TokenRow).outerjoin(ClientRow, ClientRow.client_id == TokenRow.client_id)
                   .outerjoin(ResourceRow, _SEEN_BY_ORG)
                   .where(TokenRow.token_hash == bindparam("token_hash")))


def lookup_token(database: Database, token_hash: str) -> TokenHolder | None:
    """The token with this hash and its client, or None. Every request asks: one prepared statement on a pooled
    connection, no ORM session (issue 17)."""
    with database.engine.connect() as connection:
        row = connection.execute(_TOKEN_LOOKUP, {"token_hash": token_hash}).first()
    return TokenHolder(*row) if row is not None else None


class ClientRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, client_id: str, secret_hash: str, *, role: str, org: str | None, name: str | None,
            created_at: datetime) -> None:
        self.session.add(ClientRow(client_id=client_id, secret_hash=secret_hash, role=role, org=org, name=name,
                                   created_at=created_at, disabled=False))

    def get(self, client_id: str) -> ClientRow | None:
        return self.session.get(ClientRow, client_id)

    def all(self) -> list[ClientRow]:
        """Every client, oldest first."""
        return list(self.session.execute(select(ClientRow).order_by(ClientRow.created_at)).scalars())

    def disable(self, client_id: str) -> bool:
        """False when there is no such client."""
        return self.session.execute(update(ClientRow).where(ClientRow.client_id == client_id)
                                    .values(disabled=True)).rowcount == 1


class TokenRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, token_hash: str, client_id: str, *, issued_at: datetime, expires_at: datetime) -> None:
        self.session.add(TokenRow(token_hash=token_hash, client_id=client_id, issued_at=issued_at,
                                  expires_at=expires_at, revoked=False))

    def lookup(self, token_hash: str) -> TokenHolder | None:
        """`lookup_token` in this unit of work: a request checks its token in the transaction that serves it, or,
        a SQLite write, on its connection just before that transaction begins (`read_before_begin`: the writer
        lock is not held while the body is validated). As Core: the session's ORM execution of these columns
        costs 3× the query."""
        row = read_before_begin(self.session, _TOKEN_LOOKUP, {"token_hash": token_hash}).first()
        return TokenHolder(*row) if row is not None else None

    def lookup_reading(self, token_hash: str, resource_type: str, resource_id: str) -> TokenHolder | None:
        """`lookup`, for a request that reads one resource by type and id: the same statement also fetches the
        rows of that type and id the token's organization sees (its tenant's and shared ones), which the read then
        finds without a statement of its own if it is that hospital's (`repository.read_ahead`). On PostgreSQL a
        statement is a round trip and ~60 µs of psycopg's CPU (issue 17); the token is still read every time."""
        rows = read_before_begin(self.session, _TOKEN_AND_READ, {"token_hash": token_hash,
                                                                 "resource_type": resource_type,
                                                                 "logical_id": resource_id}).all()
        if not rows:
            return None
        holder = TokenHolder(*rows[0][:_HOLDER_FIELDS])
        if holder.org is not None:
            read_ahead(self.session, holder.org, resource_type, resource_id, rows)
        return holder

    def revoke(self, token_hash: str) -> bool:
        """False when no token has this hash."""
        return self.session.execute(update(TokenRow).where(TokenRow.token_hash == token_hash)
                                    .values(revoked=True)).rowcount == 1

    def revoke_all_of(self, client_id: str) -> None:
        self.session.execute(update(TokenRow).where(TokenRow.client_id == client_id).values(revoked=True))
