"""Disclosed versions are written by one INSERT built once, run for many rows (issue 17); a version disclosed
already stays as it was, on both databases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

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
