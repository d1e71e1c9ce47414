"""The store's one lease mechanism (`store/leases.py`), shared by the claim job queue and the webhook senders: a
lease is taken only when free or run out, and only its holder renews or gives it back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, literal, select

from fhirclaim.store.db import Database
from fhirclaim.store.leases import Lease
from fhirclaim.store.webhook_senders import SenderLeaseRow

NOW = datetime(2026, 1, 5, 8, 0)
MINUTE = timedelta(minutes=1)
_ROWS = SenderLeaseRow.__table__
LEASE = Lease(_ROWS.c.subscription_id, _ROWS.c.leased_by, _ROWS.c.lease_until, insert_missing=True)


def _take(database: Database, worker: str, now: datetime) -> bool:
    with database.session(write=True) as session:
        return LEASE.take(session, "s1", worker, now, now + MINUTE) is not None


def test_a_lease_is_taken_once_until_it_runs_out(database):
    assert _take(database, "a", NOW)  # the row is made on demand, free
    assert not _take(database, "b", NOW + MINUTE / 2)  # a holds it
    assert _take(database, "b", NOW + MINUTE)  # run out: anyone's
    with database.session(write=True) as session:
        assert not LEASE.renew(session, "s1", "a", NOW + 3 * MINUTE)  # a lost it: changes nothing
        assert not LEASE.release(session, "s1", "a")
        assert LEASE.renew(session, "s1", "b", NOW + 3 * MINUTE)
    assert not _take(database, "a", NOW + 2 * MINUTE)  # b renewed it
    with database.session(write=True) as session:
        assert LEASE.release(session, "s1", "b")
    assert _take(database, "a", NOW + 2 * MINUTE)  # given back: free at once


def test_a_claim_takes_a_free_candidate_and_answers_its_row(database):
    assert _take(database, "a", NOW)
    with database.session(write=True) as session:
        assert LEASE.claim(session, select(literal("s1")), "b", NOW, NOW + MINUTE) is None  # its candidate is held
        taken = LEASE.claim(session, select(literal("s2")), "b", NOW, NOW + MINUTE)
    assert (taken.subscription_id, taken.leased_by, taken.lease_until) == ("s2", "b", NOW + MINUTE)


def test_a_leases_statements_need_no_orm_session(database):
    """Taken, renewed, claimed and given back as prebuilt statements on the transaction's connection: a claim job's
    claim and end make no ORM session (issue 17), with the same answers."""
    with database.session(write=True) as session:
        assert LEASE.take(session, "s1", "a", NOW, NOW + MINUTE).leased_by == "a"
        assert LEASE.renew(session, "s1", "a", NOW + 2 * MINUTE)
        taken = LEASE.claim(session, CANDIDATES, "a", NOW, NOW + MINUTE, params={"key": "s2"})
        assert (taken.subscription_id, taken.leased_by) == ("s2", "a")
        assert LEASE.release(session, "s1", "a") and not LEASE.release(session, "s1", "b")
        assert session.orm_session is None


CANDIDATES = select(literal("s2")).where(literal("s2") == bindparam("key"))
