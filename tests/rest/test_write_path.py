"""A write's request as the REST layer reads it (issue 17): each helper takes this request, app and `g` from their
context once (`api.http.current_request` and its two siblings), not one attribute at a time through Flask's proxies,
a context lookup each (a create made 30 of them)."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
from werkzeug import local

from testkit import authorized


@pytest.fixture
def proxy_reads(monkeypatch) -> Counter:
    """The attribute reads through werkzeug's LocalProxy (`request.x`, `g.x = ...`, `current_app.x`) that this
    project's own code makes, by function (Flask's own are not counted)."""
    reads: Counter = Counter()
    lookup = local._ProxyLookup.__get__

    def counted(self, instance, owner=None):
        caller = sys._getframe(1).f_code
        if instance is not None and "/fhirclaim/" in caller.co_filename:
            reads[f"{caller.co_filename.rsplit('/fhirclaim/', 1)[1]}:{caller.co_name}"] += 1
        return lookup(self, instance, owner)

    monkeypatch.setattr(local._ProxyLookup, "__get__", counted)
    return reads


def test_a_create_and_an_update_read_no_attribute_through_flasks_proxies(app, proxy_reads):
    client = authorized(app)
    created = client.post("/Patient", {"resourceType": "Patient", "gender": "female"},
                          headers={"Prefer": "return=representation"})
    updated = client.put(f"/Patient/{created.json['id']}", {"resourceType": "Patient", "id": created.json["id"],
                                                             "gender": "male"}, headers={"If-Match": 'W/"1"'})
    assert created.status_code == 201 and updated.status_code == 200 and updated.json["gender"] == "male"
    assert updated.headers["ETag"] == 'W/"2"'
    assert proxy_reads == Counter()


def test_the_counter_sees_a_read_through_a_proxy(app, proxy_reads):
    """The fixture's own check: an attribute read through `request` in this project's code is counted."""
    from fhirclaim.api import auth

    with app.test_request_context("/oauth2/v1/revoke", method="POST", data={"token": "x"}):
        auth.revoke()
    assert proxy_reads["api/auth.py:revoke"] >= 1
