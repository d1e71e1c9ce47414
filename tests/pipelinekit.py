"""What the store's tests share, first those of PostgreSQL's pipelined writes (`store/execution.py`'s `pipelined`
and `held_back`): a version row to write (its key taken by a second write, to be refused), a row count, the round
trips a block makes (read from libpq's trace of the connection), the statements sent, a Claim with its targets and
its listeners' rows, and the Patients a lookup by type and id chooses among."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from psycopg import pq
from sqlalchemy import event, func, insert, select

from fhirclaim.store import execution
from fhirclaim.store.audit_log import AuditLogRow
from fhirclaim.store.jobs import ClaimJobRow
from fhirclaim.store.models import ResourceVersionRow, WorklistRow
from fhirclaim.store.scope import SHARED_PARTITION, SYSTEM, tenant_scope

VERSION = ResourceVersionRow.__table__
INSERT_VERSION = insert(VERSION)
WHEN = datetime(2026, 12, 4, 8, 30)


def version_row(logical_id: str, version: int = 1) -> dict:
    """A shared Claim's version row, for `INSERT_VERSION`."""
    return {"partition": SHARED_PARTITION, "resource_type": "Claim", "logical_id": logical_id, "version_id": version,
            "last_updated": WHEN, "deleted": False, "method": "POST", "author": None, "tenant": None,
            "content": "{}"}


def write_version(database, logical_id: str) -> None:
    """A version row written and committed: a later write of the same key is refused (`ConstraintViolation`)."""
    with database.session(write=True) as session:
        execution.execute(session, INSERT_VERSION, version_row(logical_id))


def send_a_refused_row(session, send) -> None:
    """Through `send` (`execution.execute` or `execute_later`): c2's version row, then c1's, whose key
    `write_version` took, to be refused (when, and by which call, is what a test asserts)."""
    send(session, INSERT_VERSION, version_row("c2"))
    send(session, INSERT_VERSION, version_row("c1"))


def count_rows(session, table, **where) -> int:
    return session.execute(select(func.count()).select_from(table).where(
        *(table.c[name] == value for name, value in where.items()))).scalar_one()


@contextmanager
def round_trips(driver_connection, path: Path) -> Iterator[list[str]]:
    """The messages that end what the client sends before it waits for the server's answer (the Sync of an
    extended query or of a pipeline, a simple Query), from libpq's trace of the connection while the block runs.
    (A pipeline's end may send a Flush right after its Sync, without waiting between them.)"""
    connection = driver_connection.pgconn
    waits: list[str] = []
    with path.open("w") as trace:
        connection.trace(trace.fileno())
        connection.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield waits
        finally:
            connection.untrace()  # flushes what libpq wrote
    for line in path.read_text().splitlines():
        direction, _length, message, *_ = line.split("\t") + ["", ""]
        if direction == "F" and message.split(" ", 1)[0] in ("Sync", "Query"):
            waits.append(message)


@contextmanager
def statements_sent(engine) -> Iterator[list[str]]:
    """The SQL of each statement the engine's connections send to the driver while the block runs."""
    sent: list[str] = []
    listener = lambda _c, _cur, statement, *_: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


TENANT = "10000004"


def claim(n: int) -> dict:
    """A client's Claim of `TENANT`, referring to what `write_claims_targets` writes."""
    return {"resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-12-01",
            "identifier": [{"system": "http://hospital.example/claim", "value": f"CLM-{n}"}],
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "institutional"}]},
            "patient": {"reference": "Patient/p0"}, "provider": {"reference": "Organization/rs"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"}}],
            "total": {"value": 3_500_000, "currency": "IDR"}}


def write_claims_targets(runtime) -> None:
    """The Organization, Patient and Coverage `claim` refers to, written by a client of `TENANT`."""
    with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        service = runtime.services.for_caller(uow, "facility:test")
        for resource in ({"resourceType": "Organization", "id": "rs", "name": "RSUD"},
                         {"resourceType": "Patient", "id": "p0", "gender": "female"},
                         {"resourceType": "Coverage", "id": "cov", "status": "active",
                          "beneficiary": {"reference": "Patient/p0"}, "payor": [{"reference": "Organization/rs"}]}):
            service.update(resource["resourceType"], resource["id"], resource)


def listeners_rows(database, claim_id: str) -> tuple[list, list, list]:
    """A created Claim's rows its listeners wrote: its jobs' statuses, its AuditEvents' entity ids and its worklist
    lines' claim ids."""
    with database.reading() as read:
        return (read.execute(select(ClaimJobRow.status).where(ClaimJobRow.claim_id == claim_id)).scalars().all(),
                read.execute(select(AuditLogRow.entity_id).where(AuditLogRow.entity_id == claim_id)).scalars().all(),
                read.execute(select(WorklistRow.claim_id).where(WorklistRow.claim_id == claim_id)).scalars().all())


def write_patients(store, layout: dict[str, list[str | None]]) -> None:
    """A Patient per id and tenant of `layout` (id -> the tenants holding one; None: a shared row, female where the
    others are male), then rs-a's "gone" deleted: the rows a lookup by type and id must choose among."""
    for resource_id, tenants in layout.items():
        for tenant in tenants:
            with store.unit_of_work(tenant_scope(tenant) if tenant else SYSTEM) as uow:
                gender = "female" if tenant is None else "male"
                uow.resources.create({"resourceType": "Patient", "gender": gender, "name": [{"text": tenant or "-"}]},
                                     resource_id=resource_id)
    with store.unit_of_work(tenant_scope("rs-a")) as uow:
        uow.resources.delete("Patient", "gone")
