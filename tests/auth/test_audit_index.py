"""An AuditEvent is indexed from its fixed shape (issue 17): exactly the entries the generic indexer gives it."""

from __future__ import annotations

import pytest

from fhirclaim.auth.audit import audit_event, audit_index
from fhirclaim.fhir.indexing import index_resource

EVENTS = [
    {"interaction": "create", "who": "facility:abc", "outcome": "0", "description": "create Claim/c/_history/1",
     "what": "Claim/c/_history/1"},
    {"interaction": "update", "who": "bpjs:k1", "outcome": "0", "description": "update ClaimResponse/r/_history/3",
     "what": "ClaimResponse/r/_history/3"},
    {"interaction": "delete", "who": "system:pipeline", "outcome": "0", "description": "delete Patient/p/_history/2",
     "what": "Patient/p/_history/2"},
    {"interaction": "read", "who": "facility:abc", "outcome": "4", "description": "403: not yours",
     "address": "10.0.0.7"},
    {"interaction": "operation", "who": None, "outcome": "8", "description": "500"},
]


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Jakarta"])
@pytest.mark.parametrize("given", EVENTS, ids=lambda e: f"{e['interaction']}-{e['outcome']}")
def test_an_audit_event_is_indexed_as_the_generic_indexer_indexes_it(given, timezone):
    event = {**audit_event(**given), "id": "a1", "meta": {"versionId": "1", "lastUpdated": "2026-12-03T01:02:03.004Z"}}
    for _ in range(2):  # the second time from the shape's cache
        entries = audit_index(event, timezone)
        assert entries == list(dict.fromkeys(entries))
        assert set(entries) == set(index_resource(event, timezone))
