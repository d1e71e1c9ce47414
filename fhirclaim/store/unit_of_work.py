"""The store as the rest of the server sees it: units of work holding the repositories of one transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session

from fhirclaim.store.db import Database
from fhirclaim.store.jobs import JobQueue
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.webhook_deliveries import WebhookDeliveries


@dataclass
class UnitOfWork:
    session: Session
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

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: a failure inside rolls back only what the block wrote (batch entries)."""
        with self.session.begin_nested():
            yield


class Store:
    def __init__(self, database: Database, *, timezone_name: str = "UTC"):
        self.database = database
        self.timezone = timezone_name

    @contextlib.contextmanager
    def unit_of_work(self, scope: Scope = SYSTEM, *, write: bool = True) -> Iterator[UnitOfWork]:
        """Everything done through the yielded unit of work commits together, or not at all."""
        with self.database.session(write=write) as session:
            yield UnitOfWork(session, scope, SqlResourceRepository(session, scope, timezone_name=self.timezone))
