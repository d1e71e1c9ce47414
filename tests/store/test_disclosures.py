"""Disclosed versions are written by one INSERT built once, run for many rows (issue 17); a version disclosed
already stays as it was, on both databases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, select

from fhirclaim.store.access import DisclosureRow
from fhirclaim.store.disclosures import DisclosureRepository

FIRST, LATER = datetime(2026, 1, 5, 8, 0), datetime(2026, 1, 6, 8, 0)


def test_versions_disclosed_again_stay_as_they_were(database):
    with database.session(write=True) as session:
        DisclosureRepository(session).add("rs-a", [("Claim", "c1", 1), ("Patient", "p1", 3)], "rs-a", FIRST)
    with database.session(write=True) as session:
        DisclosureRepository(session).add("rs-a", [("Claim", "c1", 1), ("Claim", "c1", 2)], "rs-a", LATER)
        DisclosureRepository(session).add("rs-a", [], "rs-a", LATER)
    with database.session(write=False) as session:
        rows = session.execute(select(DisclosureRow.resource_type, DisclosureRow.resource_id,
                                      DisclosureRow.version_id, DisclosureRow.disclosed_at)
                               .order_by(DisclosureRow.resource_type, DisclosureRow.version_id)).all()
    assert [tuple(row) for row in rows] == [("Claim", "c1", 1, FIRST), ("Claim", "c1", 2, LATER),
                                            ("Patient", "p1", 3, FIRST)]


def test_a_bundles_versions_are_disclosed_by_one_statement_each_row_as_given(database):
    """PostgreSQL: the versions go as arrays unnested into rows, one statement (an executemany is a statement per
    row in psycopg's pipeline); SQLite: one executemany. Either way each row is the version named, with the tenant
    (None for none) and the time given."""
    versions = [("Bundle", "b1", 1), *((f"Type{n % 3}", f"id-{n}", n) for n in range(1, 41))]
    sent: list[tuple[str, bool]] = []
    listener = lambda _c, _cur, sql, _params, _context, many: sent.append((sql.split()[0], many))  # noqa: E731
    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.session(write=True) as session:
            DisclosureRepository(session).add("rs-a", versions, None, FIRST)
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
    assert [s for s in sent if s[0] == "INSERT"] == [("INSERT", database.engine.dialect.name != "postgresql")]
    with database.session(write=False) as session:
        rows = session.execute(select(DisclosureRow.partition, DisclosureRow.resource_type, DisclosureRow.resource_id,
                                      DisclosureRow.version_id, DisclosureRow.tenant, DisclosureRow.disclosed_at)
                               ).all()
    assert sorted(tuple(row) for row in rows) == sorted(("rs-a", *version, None, FIRST) for version in versions)
