"""`date` of the audit trail and `_lastUpdated` of any resource: one stored instant (to the microsecond), searched
with R4's range semantics, so an instant exactly on a searched bound lands on the right side of it: `ge` finds the
instant at its value's start, `eq` and `ne` put the instant at its value's exclusive end outside it, `gt` finds it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import update

from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.audit_log import AuditLog
from fhirclaim.store.models import ResourceRow
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import SYSTEM
from fhirclaim.store.unit_of_work import Store

# each named for where it is against the searched second 08:00:00 (its range: [08:00:00, 08:00:01))
INSTANTS = {"before": datetime(2026, 12, 1, 7, 59, 59, 999999), "start": datetime(2026, 12, 1, 8, 0, 0),
            "within": datetime(2026, 12, 1, 8, 0, 0, 500000), "end": datetime(2026, 12, 1, 8, 0, 1)}
SECOND = "2026-12-01T08:00:00Z"
EXPECTED = [("eq", ["start", "within"]), ("ne", ["before", "end"]), ("ge", ["end", "start", "within"]),
            ("gt", ["end"]), ("le", ["before", "start", "within"]), ("lt", ["before"]), ("sa", ["end"]),
            ("eb", ["before"])]


@pytest.fixture
def stored(database):
    with database.session(write=True) as session:
        audit, resources = AuditLog(session, SYSTEM), SqlResourceRepository(session)
        for name, when in INSTANTS.items():
            audit.append({"resourceType": "AuditEvent", "action": "C"}, name, None, when)
            resources.create({"resourceType": "Basic", "code": {"text": name}}, resource_id=name)
        for name, when in INSTANTS.items():
            session.execute(update(ResourceRow).where(ResourceRow.logical_id == name).values(last_updated=when))
    return database


def _found(database, resource_type: str, param: str, value: str) -> list[str]:
    with Store(database).unit_of_work(SYSTEM, write=False) as uow:
        return sorted(s.id for s in uow.resources.search(parse_search(resource_type, [(param, value)])).matches)


@pytest.mark.parametrize(("resource_type", "param"), [("AuditEvent", "date"), ("Basic", "_lastUpdated")])
@pytest.mark.parametrize(("prefix", "expected"), EXPECTED)
def test_an_instant_on_a_bound_lands_on_its_side(stored, resource_type, param, prefix, expected):
    assert _found(stored, resource_type, param, f"{prefix}{SECOND}") == expected


@pytest.mark.parametrize(("resource_type", "param"), [("AuditEvent", "date"), ("Basic", "_lastUpdated")])
def test_a_millisecond_finds_the_instants_within_it(stored, resource_type, param):
    assert _found(stored, resource_type, param, "2026-12-01T08:00:00.500Z") == ["within"]
    assert _found(stored, resource_type, param, "ge2026-12-01T08:00:00.500Z") == ["end", "within"]
    assert _found(stored, resource_type, param, "2026-12-01T07:59:59.999Z") == ["before"]
