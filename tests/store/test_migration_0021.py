"""Migration 0021: an AuditEvent whose `recorded` 0019's first version wrote on SQLite in the driver's own text (a
whole second without its fraction) is found by a `date=` search after the upgrade; `recorded` of SQLAlchemy's own
form is left as it is, and the downgrade changes nothing."""

from __future__ import annotations

from migrationkit import downgrade
from sqlalchemy import text

from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.db import Database
from fhirclaim.store.scope import tenant_scope
from fhirclaim.store.unit_of_work import Store

A = "10000004"
# (id, `recorded` as the first 0019 wrote it on SQLite): a whole second (the driver's isoformat), one with a fraction
# (isoformat's six digits) and one copied from a resource row's text, both SQLAlchemy's form already
OLD_ROWS = (("whole", "2026-12-01 08:00:00"), ("fraction", "2026-12-01 08:00:00.120000"),
            ("copied", "2026-12-01 09:30:00.000000"))
RECORDED = "SELECT logical_id, CAST(recorded AS VARCHAR(40)) FROM audit_log ORDER BY logical_id"


def _fill(database: Database) -> None:
    with database.engine.begin() as connection:
        for event_id, recorded in OLD_ROWS:
            content = f'{{"resourceType":"AuditEvent","id":"{event_id}","action":"C","outcome":"0"}}'
            connection.execute(text("INSERT INTO audit_log (partition, logical_id, tenant, recorded, action, outcome, "
                                    "content) VALUES (:tenant, :id, :tenant, :recorded, 'C', '0', :content)"),
                               {"tenant": A, "id": event_id, "recorded": recorded, "content": content})


def _found(database: Database, *pairs: tuple[str, str]) -> list[str]:
    with Store(database).unit_of_work(tenant_scope(A), write=False) as uow:
        return sorted(s.id for s in uow.resources.search(parse_search("AuditEvent", list(pairs))).matches)


def _recorded(database: Database) -> dict[str, str]:
    with database.engine.connect() as connection:
        return dict(connection.execute(text(RECORDED)).all())


def test_recorded_of_a_whole_second_is_found_by_a_date_search_after_the_upgrade(database):
    downgrade(database, "0020")
    _fill(database)
    before = _recorded(database)
    if database.is_sqlite:
        assert before == dict(OLD_ROWS)
        # the bug: the short text sorts before the second it is, as SQLite compares text
        assert _found(database, ("date", "2026-12-01T08:00:00Z")) == ["fraction"]
        assert _found(database, ("date", "lt2026-12-01T08:00:00Z")) == ["whole"]
    database.migrate()

    after = _recorded(database)
    if database.is_sqlite:
        assert after == {"whole": "2026-12-01 08:00:00.000000", "fraction": "2026-12-01 08:00:00.120000",
                         "copied": "2026-12-01 09:30:00.000000"}  # SQLAlchemy's own form: left as it was
    else:
        assert after == before  # a timestamp column: nothing to do
    assert _found(database, ("date", "2026-12-01T08:00:00Z")) == ["fraction", "whole"]
    assert _found(database, ("date", "lt2026-12-01T08:00:00Z")) == []
    assert _found(database, ("date", "le2026-12-01T08:00:00Z")) == ["fraction", "whole"]
    assert _found(database, ("date", "gt2026-12-01T08:00:00Z")) == ["copied"]
    assert _found(database, ("date", "2026-12-01")) == ["copied", "fraction", "whole"]

    downgrade(database, "0020")  # changes nothing back: both forms are the same time
    assert _recorded(database) == after
    database.migrate()
    assert _recorded(database) == after
