"""The store as the rest of the server sees it: units of work holding the repositories of one transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from fhirclaim.store import commit_notices, execution
from fhirclaim.store.clients import ClientRepository, TokenRepository
from fhirclaim.store.db import Database
from fhirclaim.store.disclosures import DisclosureRepository
from fhirclaim.store.jobs import JobQueue
from fhirclaim.store.login_failures import LoginFailureRepository
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.security_events import SecurityEventRepository
from fhirclaim.store.subscription_epoch import SubscriptionEpoch
from fhirclaim.store.tenant_settings import TenantSettingsRepository
from fhirclaim.store.transactions import ReadTransaction, WriteTransaction
from fhirclaim.store.users import UserRepository
from fhirclaim.store.webhook_deliveries import WebhookDeliveries
from fhirclaim.store.webhook_secrets import WebhookSecretRepository
from fhirclaim.store.worklist import WorklistRepository

_REMEMBERED = "fhirclaim.remembered"  # session.info key: the memos of `UnitOfWork.remembered`


@dataclass
class UnitOfWork:
    # a read's (`Store.reading`) and a write's have an ORM session only if asked for one
    session: Session | ReadTransaction | WriteTransaction
    scope: Scope
    resources: SqlResourceRepository

    @cached_property
    def jobs(self) -> JobQueue:
        """The claim pipeline's job queue, in this transaction."""
        return JobQueue(self.session)

    @cached_property
    def webhook_deliveries(self) -> WebhookDeliveries:
        """The webhook outbox's rows and their senders' leases, in this transaction."""
        return WebhookDeliveries(self.session)

    def viewing(self, scope: Scope) -> UnitOfWork:
        """The same transaction seen through another scope: a read request's, once its token was checked in it."""
        return UnitOfWork(self.session, scope, self.resources.viewing(scope))

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: a failure inside rolls back only what the block wrote (batch entries), and
        empties what this transaction remembered (`remembered`: read inside the block, it may be undone)."""
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            self.session.info.pop(_REMEMBERED, None)
            raise

    def held_back(self) -> contextlib.AbstractContextManager[None]:
        """A block whose rows nobody reads back (a write's listeners': its audit row, its job, its worklist line) are
        sent, on PostgreSQL, in one round trip with the next statement that needs an answer, or when the block ends
        (`execution.held_back`): any error of theirs fails the write before it commits."""
        return execution.held_back(self.session)

    def remembered(self, owner: str) -> dict[Any, Any]:
        """`owner`'s memo for this transaction, shared by every view of it: what it read here and may use again
        in it (issue 17). The owner drops what a change makes stale; a savepoint rolled back empties every memo."""
        return self.session.info.setdefault(_REMEMBERED, {}).setdefault(owner, {})

    # --- the other repositories of this transaction: code outside store/ reaches them here, never the session

    @cached_property
    def clients(self) -> ClientRepository:
        return ClientRepository(self.session)

    @cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self.session)

    @cached_property
    def login_failures(self) -> LoginFailureRepository:
        return LoginFailureRepository(self.session)

    @cached_property
    def security_events(self) -> SecurityEventRepository:
        return SecurityEventRepository(self.session)

    @cached_property
    def disclosures(self) -> DisclosureRepository:
        return DisclosureRepository(self.session)

    @cached_property
    def tenant_settings(self) -> TenantSettingsRepository:
        return TenantSettingsRepository(self.session)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session)

    @cached_property
    def worklist(self) -> WorklistRepository:
        return WorklistRepository(self.session)

    @cached_property
    def webhook_secrets(self) -> WebhookSecretRepository:
        return WebhookSecretRepository(self.session)

    @cached_property
    def subscription_epoch(self) -> SubscriptionEpoch:
        return SubscriptionEpoch(self.session)


class Store:
    def __init__(self, database: Database, *, timezone_name: str = "UTC"):
        self.database = database
        self.timezone = timezone_name
        self._on_commit: dict[str, list[Callable[[], None]]] = {}

    def on_commit(self, topic: str, callback: Callable[[], None]) -> None:
        """Call `callback` (quick, never raising: it sets an Event) after every unit of work that noticed `topic`
        commits (`store/commit_notices.py`)."""
        self._on_commit.setdefault(topic, []).append(callback)

    def announce(self, topic: str) -> None:
        """Tell `topic`'s callbacks: a commit of this process, or another's (`notice_listener.py`), noticed it."""
        for callback in self._on_commit.get(topic, ()):
            callback()

    @contextlib.contextmanager
    def unit_of_work(self, scope: Scope = SYSTEM, *, write: bool = True) -> Iterator[UnitOfWork]:
        """Everything done through the yielded unit of work commits together, or not at all."""
        with self.database.session(write=write) as session:
            yield UnitOfWork(session, scope, SqlResourceRepository(session, scope, timezone_name=self.timezone))
        topics = commit_notices.taken(session)
        for topic in topics:  # committed: wake whoever waits for it
            self.announce(topic)
        if topics and self.database.notices is not None:  # and, on SQLite, the other processes' workers
            self.database.notices.tell(topics)

    @contextlib.contextmanager
    def reading(self, scope: Scope = SYSTEM) -> Iterator[UnitOfWork]:
        """A unit of work that only reads (a GET's token check and read): it ends rolled back, so anything written
        through it would be lost. Whatever may write takes `unit_of_work`."""
        with self.database.reading() as session:
            yield UnitOfWork(session, scope, SqlResourceRepository(session, scope, timezone_name=self.timezone))
