"""Plain INSERTs sent together on PostgreSQL go as one statement of data-modifying WITH queries
(`execution._merged`, issue 17): a pipelined block's (a create's version and index rows) and a held-back block's
(its listeners' rows, with the Subscription epoch's SELECT as the final query). Every row lands as it would have
alone, with its types; a SELECT of a table the INSERTs write, a DELETE, or more parameters than a statement should
carry are sent as they are, in order. On SQLite the statements run one by one: the same rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, event, func, insert, literal_column, select

from fhirclaim.store import execution
from fhirclaim.store.audit_log import AuditLogRow
from fhirclaim.store.models import INDEX_TABLES, ResourceRow
from fhirclaim.store.scope import SHARED_PARTITION, tenant_scope

from pipelinekit import (
    INSERT_VERSION,
    TENANT,
    VERSION,
    WHEN,
    claim,
    count_rows,
    listeners_rows,
    statements_sent,
    version_row,
    write_claims_targets,
    write_version,
)

_TOKEN = INDEX_TABLES["token"].__table__
_INSERT_TOKEN = insert(_TOKEN).inline()  # as the listeners' INSERTs: no key asked back
_DELETE_TOKENS = delete(_TOKEN).where(_TOKEN.c.resource_pk == 7)
_RESOURCE = {"pk": 7, "partition": SHARED_PARTITION, "resource_type": "Claim", "logical_id": "r7", "version_id": 1,
             "last_updated": WHEN, "deleted": False, "tenant": None, "content": "{}"}
_VERSIONS = select(VERSION.c.logical_id, VERSION.c.version_id, VERSION.c.last_updated, VERSION.c.deleted,
                   VERSION.c.author, VERSION.c.content).order_by(VERSION.c.logical_id, VERSION.c.version_id)
_TOKENS = select(_TOKEN.c.resource_pk, _TOKEN.c.param, _TOKEN.c.system, _TOKEN.c.code).order_by(_TOKEN.c.code)
_COUNT_TOKENS = select(func.count()).select_from(_TOKEN)


@pytest.fixture
def database(database):
    """The store's database with resource 7, whose index rows these tests write."""
    with database.session(write=True) as session:
        session.execute(insert(ResourceRow.__table__), _RESOURCE)
    return database


def _token(code: str, system: str | None = "http://hospital.example/claim") -> dict:
    return {"resource_pk": 7, "resource_type": "Claim", "param": "identifier", "system": system, "code": code}


def _written(sent: list[str]) -> list[list[str]]:
    """Per statement sent, the tables it inserts into, in order."""
    return [re.findall(r"INSERT INTO (\w+)", statement) for statement in sent]


def test_a_create_is_three_statements_on_postgresql(runtime):
    """The references' SELECT, the resource row, then its version and index rows and its listeners' rows
    (AuditEvent, job, worklist line) as one statement with the epoch's SELECT: ten before."""
    write_claims_targets(runtime)
    with statements_sent(runtime.database.engine) as sent, runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        stored, _ = runtime.services.for_caller(uow, "facility:test").create(claim(1))
    if runtime.database.is_sqlite:
        assert len(sent) == 10
    else:
        assert _written(sent) == [[], ["resource"], ["resource_version", "idx_date", "idx_token", "idx_reference",
                                                     "audit_log", "claim_job", "claim_worklist"]]
        assert sent[2].startswith("WITH ")
        assert re.search(r"\) SELECT webhook_subscription_epoch\.token\s+FROM webhook_subscription_epoch", sent[2])
    assert listeners_rows(runtime.database, stored.id) == (["queued"], [stored.id], [stored.id])
    with runtime.database.reading() as read:
        assert sorted(read.execute(select(INDEX_TABLES["token"].code)
                                   .where(INDEX_TABLES["token"].param == "identifier",
                                          INDEX_TABLES["token"].resource_type == "Claim")).scalars()) == ["CLM-1"]


def test_an_updates_version_and_index_rows_go_with_its_audit_row_on_postgresql(runtime):
    """After the lookups and the row's UPDATE: the new version row, the old index rows out, the new ones in and
    its AuditEvent as one statement. A Claim's listeners then UPDATE its queued job (sending what is held first),
    enqueue the new version's, UPDATE its worklist line and read the epoch: 9 statements, 10 before."""
    write_claims_targets(runtime)
    with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        stored, _ = runtime.services.for_caller(uow, "facility:test").create(claim(1))
    changed = {**claim(2), "id": stored.id}
    with statements_sent(runtime.database.engine) as sent, runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        updated, created = runtime.services.for_caller(uow, "facility:test").update("Claim", stored.id, changed)
    assert (updated.version_id, created) == (2, False)
    if not runtime.database.is_sqlite:
        assert [statement.split()[0] for statement in sent] == ["SELECT", "SELECT", "SELECT", "UPDATE", "WITH",
                                                                 "UPDATE", "WITH", "UPDATE", "SELECT"]
        assert _written(sent)[4] == ["resource_version", "idx_date", "idx_token", "idx_reference", "audit_log"]
        assert sent[4].count("DELETE FROM idx_") == len(INDEX_TABLES)  # every kind's, whether it had rows or not
    with runtime.database.reading() as read:
        assert sorted(read.execute(select(INDEX_TABLES["token"].code)
                                   .where(INDEX_TABLES["token"].param == "identifier",
                                          INDEX_TABLES["token"].resource_type == "Claim")).scalars()) == ["CLM-2"]


def test_a_patients_audit_row_goes_with_the_triggers_read_of_failed_claims(runtime):
    """A change of what a claim rests on (a Patient): the AuditListener runs before the PipelineTrigger, so its row
    is held back and goes with the trigger's SELECT of the failed jobs to rerun, as that statement's WITH query."""
    with runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        runtime.services.for_caller(uow, "facility:test").update("Patient", "p0", {"resourceType": "Patient",
                                                                                   "id": "p0", "gender": "female"})
    with statements_sent(runtime.database.engine) as sent, runtime.store.unit_of_work(tenant_scope(TENANT)) as uow:
        runtime.services.for_caller(uow, "facility:test").update("Patient", "p0", {"resourceType": "Patient",
                                                                                   "id": "p0", "gender": "male"})
    if not runtime.database.is_sqlite:
        together = [s for s in sent if "INSERT INTO audit_log" in s]
        assert len(together) == 1 and together[0].startswith("WITH ")
        assert re.search(r"\) SELECT .* FROM claim_job", together[0], re.DOTALL)
    with runtime.database.reading() as read:
        assert read.execute(select(AuditLogRow.entity_id).where(AuditLogRow.entity_id == "p0")).scalars().all() \
            == ["p0", "p0"]


def test_an_executemany_becomes_rows_of_one_values_list_and_every_value_lands_as_sent(database):
    rows = [{**version_row("c2", version), "deleted": version == 2, "author": f"a{version}",
             "content": "100% {\"x\": 1}"} for version in (1, 2, 3)]
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, INSERT_VERSION, version_row("c1"))
            execution.execute(session, INSERT_VERSION, rows)
            execution.execute(session, _INSERT_TOKEN, [_token("b"), _token("a", None)])
    assert len(sent) == (3 if database.is_sqlite else 1)  # SQLite: one executemany each
    if not database.is_sqlite:
        assert _written(sent) == [["resource_version", "resource_version", "idx_token"]]
        assert sent[0].count("), (") == 3  # c2's three rows, the two tokens: one VALUES list each
    with database.reading() as read:
        assert [tuple(row) for row in read.execute(_VERSIONS)] == [
            ("c1", 1, WHEN, False, None, "{}"),
            ("c2", 1, WHEN, False, "a1", "100% {\"x\": 1}"),
            ("c2", 2, WHEN, True, "a2", "100% {\"x\": 1}"),
            ("c2", 3, WHEN, False, "a3", "100% {\"x\": 1}")]
        assert [tuple(row) for row in read.execute(_TOKENS)] == [
            (7, "identifier", None, "a"), (7, "identifier", "http://hospital.example/claim", "b")]


def test_a_merged_statement_uses_postgresqls_placeholders_on_a_raw_cursor(database):
    """psycopg parses the SQL of a statement past 50 parameters at every run (it keeps no parsed copy of it): the
    merged statement is written with $1, $2… and sent with its values in order, which psycopg does not parse."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: set FHIRCLAIM_DATABASE_URL to a PostgreSQL server")
    seen = []
    listener = lambda _c, cursor, statement, parameters, *_: seen.append((type(cursor).__name__, statement,  # noqa: E731
                                                                           parameters))
    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.session(write=True) as session:
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, [version_row(f"c{n}") for n in range(6)])
                execution.execute(session, _INSERT_TOKEN, _token("a"))
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    [(cursor, statement, parameters)] = seen
    assert cursor == "RawCursor" and "%(" not in statement
    assert re.findall(r"\$(\d+)", statement) == [str(n) for n in range(1, 66)]  # each once, in order
    assert isinstance(parameters, tuple) and len(parameters) == 65  # ten values a version row, five a token's
    assert parameters[2] == "c0" and parameters[52] == "c5" and parameters[-1] == "a"  # by row, by column
    with database.reading() as read:
        assert count_rows(read, VERSION) == 6 and count_rows(read, _TOKEN) == 1


def test_a_literal_percent_in_a_merged_statement_is_itself(database):
    """SQLAlchemy writes a literal % as %% for psycopg's named placeholders; a raw statement takes it as it is."""
    write_version(database, "c1")
    write_version(database, "d1")
    like = select(func.count()).select_from(VERSION).where(VERSION.c.logical_id.like(literal_column("'c%'")))
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, _INSERT_TOKEN, _token("a"))
            execution.execute_later(session, _INSERT_TOKEN, _token("b"))
            assert execution.execute(session, like).scalar_one() == 1  # the final query of their statement
    if not database.is_sqlite:
        assert len(sent) == 1 and "LIKE 'c%'" in sent[0] and "%%" not in sent[0]
    with database.reading() as read:
        assert count_rows(read, _TOKEN) == 2


def test_blocks_of_different_shapes_each_get_their_own_statement(database):
    """The merged statement is kept by its shape (the INSERTs and their rows): another number of rows is another
    statement, not the last one's with parameters missing."""
    for block, rows in enumerate((1, 3, 2, 3)):
        with database.session(write=True) as session:
            with execution.pipelined(session):
                execution.execute(session, INSERT_VERSION, version_row(f"b{block}-0") if rows == 1 else
                                  [version_row(f"b{block}-{n}") for n in range(rows)])
                execution.execute(session, _INSERT_TOKEN, _token(f"r{rows}"))
            execution.execute(session, _DELETE_TOKENS)
    with database.reading() as read:
        assert sorted(read.execute(select(VERSION.c.logical_id)).scalars()) == [
            "b0-0", "b1-0", "b1-1", "b1-2", "b2-0", "b2-1", "b3-0", "b3-1", "b3-2"]
        assert count_rows(read, _TOKEN) == 0


def test_a_select_of_a_written_table_is_not_their_final_query(database):
    """In one statement the final query would not see the INSERTs' rows (one snapshot for all): it is sent after
    them, in the same round trip, and sees them."""
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, _INSERT_TOKEN, _token("a"))
            execution.execute_later(session, INSERT_VERSION, version_row("c1"))
            assert execution.execute(session, _COUNT_TOKENS).scalar_one() == 1
    assert [s.split()[0] for s in sent] == (["INSERT", "INSERT", "SELECT"] if database.is_sqlite else
                                            ["WITH", "SELECT"])


def test_a_select_of_other_tables_is_their_final_query(database):
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.held_back(session):
            execution.execute_later(session, _INSERT_TOKEN, _token("a"))
            execution.execute_later(session, _INSERT_TOKEN, _token("b"))
            assert execution.execute(session, select(func.count()).select_from(VERSION)).scalar_one() == 0
            assert execution.execute(session, _VERSIONS).all() == []
    assert len(sent) == (4 if database.is_sqlite else 2)  # the second SELECT: nothing held back before it
    with database.reading() as read:
        assert count_rows(read, _TOKEN) == 2


def test_a_delete_in_a_block_sends_the_statements_as_they_are(database):
    """DELETE then INSERT of the same table: sent in order, one by one (no WITH: its DELETE would not see rows
    the block inserted before it)."""
    with database.session(write=True) as session:
        execution.execute(session, _INSERT_TOKEN, _token("old"))
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, _INSERT_TOKEN, _token("a"))
            execution.execute(session, _DELETE_TOKENS)
            execution.execute(session, _INSERT_TOKEN, _token("new"))
    assert [s.split()[0] for s in sent] == ["INSERT", "DELETE", "INSERT"]
    with database.reading() as read:
        assert [row.code for row in read.execute(_TOKENS)] == ["new"]


def test_an_updates_old_index_rows_go_out_in_the_statement_that_puts_the_new_ones_in(database):
    """DELETE then INSERT of an index table (no unique key a new row could take from an old one): one statement,
    whose DELETE sees only the rows that were there before it."""
    with database.session(write=True) as session:
        execution.execute(session, _INSERT_TOKEN, [_token("old-1"), _token("old-2")])
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, INSERT_VERSION, version_row("c1"))
            execution.execute(session, _DELETE_TOKENS)
            execution.execute(session, _INSERT_TOKEN, [_token("new-1"), _token("new-2")])
    assert [s.split()[0] for s in sent] == (["INSERT", "DELETE", "INSERT"] if database.is_sqlite else ["WITH"])
    with database.reading() as read:
        assert [row.code for row in read.execute(_TOKENS)] == ["new-1", "new-2"]
        assert count_rows(read, VERSION) == 1


def test_a_key_a_delete_frees_for_a_later_insert_is_freed_first(database):
    """DELETE then INSERT of a row with the same primary key: in one statement the INSERT might run first and
    collide, so they are sent one by one."""
    with database.session(write=True) as session:
        execution.execute(session, INSERT_VERSION, version_row("c1"))
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, _INSERT_TOKEN, _token("a"))
            execution.execute(session, delete(VERSION).where(VERSION.c.logical_id == "c1"))
            execution.execute(session, INSERT_VERSION, {**version_row("c1"), "author": "again"})
    assert [s.split()[0] for s in sent] == ["INSERT", "DELETE", "INSERT"]
    with database.reading() as read:
        assert read.execute(select(VERSION.c.author)).scalars().all() == ["again"]


def test_more_parameters_than_a_statement_should_carry_are_sent_as_they_are(database, monkeypatch):
    monkeypatch.setattr(execution, "_MAX_MERGED_PARAMETERS", 20)  # a version row has 10; two tokens another 10
    with statements_sent(database.engine) as sent, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, INSERT_VERSION, version_row("c1"))
            execution.execute(session, _INSERT_TOKEN, [_token("a"), _token("b"), _token("c")])
    assert [s.split()[0] for s in sent] == ["INSERT", "INSERT"]  # each its own, as on SQLite
    with database.reading() as read:
        assert count_rows(read, VERSION) == 1
        assert count_rows(read, _TOKEN) == 3


def test_a_merged_statements_refused_row_fails_the_block_and_nothing_is_kept(database):
    from fhirclaim.store.db import ConstraintViolation
    with pytest.raises(ConstraintViolation) as refused, database.session(write=True) as session:
        with execution.pipelined(session):
            execution.execute(session, _INSERT_TOKEN, _token("a"))
            execution.execute(session, INSERT_VERSION, [version_row("c1"), version_row("c1")])  # the same key twice
    assert "resource_version" in str(refused.value)
    with database.reading() as read:
        assert count_rows(read, VERSION) == 0
        assert count_rows(read, _TOKEN) == 0
