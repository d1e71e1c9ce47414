"""Every route is registered from its entry in the route table (fhirclaim/api/routing.py): the entry names the
function that serves it, and a route with roles refuses every other role before its handler runs."""

from __future__ import annotations

import importlib
import re

import pytest
from flask import Blueprint

from fhirclaim.api import routing, surface
from fhirclaim.auth.principal import ROLES

from testkit import authorized

SAMPLE = {"resource_id": "x", "claim_id": "x", "version": "1", "filename": "x", "client_id": "x",
          "tenant": "10000004", "delivery_id": "1", "resource_type": "Claim", "definition_id": "x"}


@pytest.mark.parametrize("entry", surface.TABLE, ids=[e.key for e in surface.TABLE])
def test_each_entry_names_the_function_that_serves_it(app, entry):
    module, _, name = entry.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    assert callable(handler) and handler.__name__ == entry.key
    assert any(endpoint.rsplit(".", 1)[-1] == entry.key for endpoint in app.view_functions), entry.key


def test_a_handler_other_than_the_one_the_table_names_is_refused():
    def submit():  # not fhirclaim.api.operations.submit
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="fhirclaim.api.operations.submit serves submit"):
        routing.serve_on(Blueprint("elsewhere", __name__))("submit")(submit)


@pytest.mark.parametrize("entry", [e for e in surface.TABLE if e.roles], ids=[e.key for e in surface.TABLE if e.roles])
def test_a_route_with_roles_refuses_the_other_roles(app, entry):
    path = re.sub(r"\{([a-z_]+)\}", lambda m: SAMPLE[m.group(1)], entry.path)
    for role in sorted(set(ROLES) - set(entry.roles)):
        client = authorized(app, role)
        answer = client.request(entry.method, path, base="", raw=b"not read")
        assert answer.status_code == 403, (role, answer.get_data()[:200])
        assert answer.get_json()["issue"][0]["code"] == "forbidden"
