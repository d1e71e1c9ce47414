"""What the store writes for a create: each kind's index row (`repository._index_row`) and a generated id
(`repository._new_id`: `str(uuid4())`)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from fhirclaim.fhir.indexing import IndexEntry
from fhirclaim.store import repository

_LOW, _HIGH = datetime(2026, 12, 3), datetime(2026, 12, 4)
_ROWS = [
    (IndexEntry("identifier", "token", "s", "c"), {"system": "s", "code": "c"}),
    (IndexEntry("patient", "reference", None, "p1", "Patient"), {"target_type": "Patient", "target_id": "p1"}),
    (IndexEntry("created", "date", low=_LOW, high=_HIGH), {"low": _LOW, "high": _HIGH}),
    (IndexEntry("name", "string", None, "budi", "Budi"), {"normalised": "budi", "exact": "Budi"}),
    (IndexEntry("sequence", "number", number=Decimal("2")), {"value": Decimal("2")}),
    (IndexEntry("quantity", "quantity", "u", "mg", number=Decimal("1.5")),
     {"value": Decimal("1.5"), "system": "u", "code": "mg"}),
]


@pytest.mark.parametrize("entry,values", _ROWS, ids=lambda value: getattr(value, "kind", ""))
def test_each_kind_of_index_entry_is_the_row_of_its_table(entry, values):
    assert repository._index_row(7, "Claim", entry) == {"resource_pk": 7, "resource_type": "Claim",
                                                       "param": entry.param, **values}


def test_a_generated_id_is_a_version_4_uuid_as_str_writes_it():
    ids = [repository._new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
    assert {text[19] for text in ids} == set("89ab")  # every variant digit comes: its two random bits are kept
