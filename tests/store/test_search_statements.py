"""Search statements built once per shape of search (issue 17): a later search of the same shape runs the same
statements with its own values; what changes a statement's form (a token's system given, empty or absent; a
prefix; the number of ids; the scope) makes another shape; LIKE values still match themselves."""

from __future__ import annotations

import pytest

from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store import search_sql
from fhirclaim.store.scope import tenant_scope

A, B = tenant_scope("rs-a"), tenant_scope("rs-b")


def _found(uow, resource_type: str, *pairs: tuple[str, str]) -> list[str]:
    request = parse_search(resource_type, list(pairs), timezone=uow.resources.timezone)  # dates as indexed
    return sorted(m.id for m in uow.resources.search(request).matches)


@pytest.fixture
def patients(runtime):
    with runtime.store.unit_of_work(A) as uow:
        for n in (1, 2, 3):
            uow.resources.create({"resourceType": "Patient", "birthDate": f"198{n}-01-01",
                                  "identifier": [{"system": "urn:a", "value": str(n)}]}, resource_id=f"p{n}")
        uow.resources.create({"resourceType": "Patient", "identifier": [{"value": "2"}]}, resource_id="p4")
    return runtime


def test_searches_of_one_shape_share_statements_and_each_binds_its_own_values(patients):
    with patients.store.unit_of_work(A, write=False) as uow:
        first = parse_search("Patient", [("identifier", "urn:a|1")])
        second = parse_search("Patient", [("identifier", "urn:a|3")])
        assert search_sql.statements(first, A) is search_sql.statements(second, A)
        assert _found(uow, "Patient", ("identifier", "urn:a|1")) == ["p1"]
        assert _found(uow, "Patient", ("identifier", "urn:a|3")) == ["p3"]
        assert _found(uow, "Patient", ("birthdate", "ge1982-01-01")) == ["p2", "p3"]
        assert _found(uow, "Patient", ("birthdate", "ge1983-01-01")) == ["p3"]
        assert _found(uow, "Patient", ("birthdate", "lt1982-01-01")) == ["p1"]  # another prefix, another form
        assert _found(uow, "Patient", ("_id", "p1,p2")) == ["p1", "p2"]
        assert _found(uow, "Patient", ("_id", "p3,p4")) == ["p3", "p4"]
        assert _found(uow, "Patient", ("_id", "p2")) == ["p2"]
        assert _found(uow, "Patient", ("_id:not", "p2")) == ["p1", "p3", "p4"]


def test_a_tokens_system_given_empty_or_absent_is_each_its_own_shape(patients):
    with patients.store.unit_of_work(A, write=False) as uow:
        assert _found(uow, "Patient", ("identifier", "urn:a|2")) == ["p2"]
        assert _found(uow, "Patient", ("identifier", "|2")) == ["p4"]  # no system
        assert _found(uow, "Patient", ("identifier", "2")) == ["p2", "p4"]  # any system
        assert _found(uow, "Patient", ("identifier", "urn:a|")) == ["p1", "p2", "p3"]  # any code of the system
        shapes = {search_sql.shape(parse_search("Patient", [("identifier", v)])) for v in ("urn:a|2", "|2", "2")}
        assert len(shapes) == 3


def test_a_scope_is_part_of_the_shape(patients):
    with patients.store.unit_of_work(B, write=False) as uow:
        assert _found(uow, "Patient", ("identifier", "urn:a|1")) == []  # the same shape, another tenant
    request = parse_search("Patient", [("identifier", "urn:a|1")])
    assert search_sql.statements(request, A) is not search_sql.statements(request, B)


def test_like_patterns_match_their_values_literally_whatever_the_earlier_search(runtime):
    with runtime.store.unit_of_work(A) as uow:
        for n, family in enumerate(("50%_off", "50abc", "50_x", "a/b", "ab")):
            uow.resources.create({"resourceType": "Patient", "name": [{"family": family}]}, resource_id=f"n{n}")
    with runtime.store.unit_of_work(A, write=False) as uow:
        assert _found(uow, "Patient", ("family", "50")) == ["n0", "n1", "n2"]
        assert _found(uow, "Patient", ("family", "50%")) == ["n0"]
        assert _found(uow, "Patient", ("family", "50_")) == ["n2"]
        assert _found(uow, "Patient", ("family", "a/")) == ["n3"]
        assert _found(uow, "Patient", ("family:contains", "%_")) == ["n0"]
        assert _found(uow, "Patient", ("family:contains", "bc")) == ["n1"]


def test_numbers_bind_their_range_per_search(runtime):
    with runtime.store.unit_of_work(A) as uow:
        for n, factor in enumerate((1.5, 2.5)):
            uow.resources.create({"resourceType": "ChargeItem", "status": "billable", "code": {"text": "x"},
                                  "subject": {"reference": "Patient/p"}, "factorOverride": factor},
                                 resource_id=f"c{n}")
    with runtime.store.unit_of_work(A, write=False) as uow:
        assert _found(uow, "ChargeItem", ("factor-override", "1.5")) == ["c0"]
        assert _found(uow, "ChargeItem", ("factor-override", "2.5")) == ["c1"]
        assert _found(uow, "ChargeItem", ("factor-override", "gt2")) == ["c1"]
        assert _found(uow, "ChargeItem", ("factor-override", "gt1")) == ["c0", "c1"]


def test_each_search_pages_with_its_own_count_and_offset(patients):
    with patients.store.unit_of_work(A, write=False) as uow:
        pages = [[m.id for m in uow.resources.search(parse_search(
            "Patient", [("_sort", "_id"), ("_count", "2"), ("_offset", str(offset))])).matches] for offset in (0, 2)]
        assert pages == [["p1", "p2"], ["p3", "p4"]]
        result = uow.resources.search(parse_search("Patient", [("_sort", "_id"), ("_count", "3")]))
        assert [m.id for m in result.matches] == ["p1", "p2", "p3"] and result.total == 4
