"""A parsed `SearchRequest` as SQL: per criterion, `pk IN (the index rows that match)`.

The IN form lets the database start from the index (`ix_token_lookup` and its kin: type, parameter, value) and
look the few matching resources up by primary key; a correlated EXISTS would walk every resource of the type
first, which SQLite does (PostgreSQL turns either into a semi-join).

Values are bound parameters and LIKE patterns are escaped, so `%`, `_` and quotes in a search value match
themselves. Dates compare ranges: a resource value `[low, high)` against the searched `[low, high)`.

Building a search's statements and running them through the ORM was most of a search's CPU (0.8 of 1.3 ms in
process, issue 17), several times what SQLite takes to run them. They are built once per shape of search (`shape`:
which parameters, modifiers and prefixes, which parts of each value are given, the scope, the sort) and kept
(`statements`); every search of that shape binds its own values. While building, each value is bound through
`Binds` with the way to take it from a request, so what is bound and where it comes from are written once, in the
same place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from fhirclaim.fhir.search_request import Criterion, SearchRequest, SearchValue
from fhirclaim.store.models import (
    DateIndex,
    NumberIndex,
    QuantityIndex,
    ReferenceIndex,
    ResourceRow,
    StringIndex,
    TokenIndex,
)
from fhirclaim.store.scope import SHARED_PARTITION, Scope

_DAY = timedelta(days=1)
_TABLES = {"token": TokenIndex, "uri": TokenIndex, "string": StringIndex, "reference": ReferenceIndex,
           "date": DateIndex, "number": NumberIndex, "quantity": QuantityIndex}
# The indexed value a parameter sorts by (a date by `low`, or by `high` descending).
_SORT_COLUMNS = {"token": "code", "uri": "code", "string": "normalised", "reference": "target_id", "date": "low",
                 "number": "value", "quantity": "value"}


_RESOURCE = ResourceRow.__table__
# What a search answers of each match: the columns `stored_from_row` reads, as Core (no ORM entity per row).
_MATCH_COLUMNS = tuple(_RESOURCE.c[name] for name in ("pk", "partition", "resource_type", "logical_id", "version_id",
                                                      "last_updated", "deleted", "tenant", "content"))
_LIKE_ESCAPE = "/"

Take = Callable[[SearchRequest], Any]  # one value of a search, taken from a request of the statement's shape
At = Callable[[SearchRequest], Any]  # a criterion, or one of its values, in a request of the statement's shape


class Binds:
    """The bound parameters of a statement being built (`v0`, `v1`, …), each with how to take its value from any
    request of the same shape."""

    def __init__(self) -> None:
        self.takers: list[Take] = []

    def __call__(self, take: Take) -> BindParameter:
        name = f"v{len(self.takers)}"
        self.takers.append(take)
        return bindparam(name)  # its type is the column's it is compared with

    def values(self, request: SearchRequest) -> dict[str, Any]:
        return {f"v{n}": take(request) for n, take in enumerate(self.takers)}


@dataclass(frozen=True)
class SearchStatements:
    """A search shape's two statements: how many match (`count`), and one page of the matches (`page`, its size
    and start bound as `limit` and `offset`); `binds` gives both their values from a request."""

    count: Select
    page: Select
    binds: Binds

    def values(self, request: SearchRequest) -> dict[str, Any]:
        return self.binds.values(request)

    def page_values(self, request: SearchRequest) -> dict[str, Any]:
        return {**self.binds.values(request), "limit": request.count, "offset": request.offset}


def statements(request: SearchRequest, scope: Scope) -> SearchStatements:
    """The statements of this search (built on the first search of its shape)."""
    return _statements_of(_Shaped(shape(request), scope, request))


class _Shaped:
    """A request as the statement cache's key: equal to any request of its shape and scope (a SearchRequest itself
    is not hashable, and its values must not count)."""

    __slots__ = ("key", "request")

    def __init__(self, shape_of: tuple, scope: Scope, request: SearchRequest):
        self.key, self.request = (shape_of, scope), request

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Shaped) and other.key == self.key


@functools.lru_cache(maxsize=1024)
def _statements_of(shaped: _Shaped) -> SearchStatements:
    return _build(shaped.request, shaped.key[1])


def _build(request: SearchRequest, scope: Scope) -> SearchStatements:
    binds = Binds()
    row = ResourceRow
    query = select(*_MATCH_COLUMNS).where(row.resource_type == request.resource_type, row.deleted.is_(False),
                                          scope.condition(row))
    for n, criterion in enumerate(request.criteria):
        query = query.where(criterion_condition(criterion, row, scope, binds, criterion_at(n)))
    order = [sort_expression(p, row, desc) for p, desc in request.sort]
    order += [row.last_updated.desc(), row.pk.desc()]
    return SearchStatements(select(func.count()).select_from(query.subquery()),
                            query.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset")), binds)


def criterion_at(n: int) -> At:
    return lambda request: request.criteria[n]


def shape(request: SearchRequest) -> tuple:
    """What the statements of a search depend on other than its bound values: two searches of one shape differ
    only in the values `Binds` takes from them."""
    return (request.resource_type, tuple(_criterion_shape(c) for c in request.criteria),
            tuple((p.name, p.type, descending) for p, descending in request.sort))


def _criterion_shape(criterion: Criterion) -> tuple:
    param = criterion.param
    return (param.resource_type, param.name, param.type, criterion.modifier, criterion.missing, criterion.chain_type,
            _criterion_shape(criterion.chain) if criterion.chain is not None else None,
            tuple(_value_shape(v) for v in criterion.values))


def _value_shape(value: SearchValue) -> tuple:
    """Which parts of a value are given (a token's code and system, "" being no system; a reference's type) and
    its prefix: each decides a condition's form; the parts themselves are bound."""
    return (value.prefix, value.code is None, bool(value.code), value.system is None, value.system == "",
            bool(value.system), bool(value.target_type))


def criterion_condition(criterion: Criterion, row, scope: Scope, binds: Binds, at: At) -> ColumnElement[bool]:
    """The condition on `row` (a ResourceRow or an alias of it) that `criterion` asks for; `at` finds the criterion
    in another request of this shape."""
    param = criterion.param
    if param.name == "_id":
        return id_condition(criterion, row, binds, at)
    if param.name == "_lastUpdated":
        return or_(*(instant_match(v, row.last_updated, binds, value_at(at, n))
                     for n, v in enumerate(criterion.values)))
    table = _TABLES[param.type]

    def indexed(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return row.pk.in_(select(table.resource_pk).where(
            table.resource_type == param.resource_type, table.param == param.name, *conditions))

    if criterion.missing is not None:
        return not_(indexed()) if criterion.missing else indexed()
    if criterion.chain is not None:
        return indexed(_chain_match(criterion, table, scope, binds, at))
    matches = or_(*(value_match(param.type, criterion.modifier, v, table, binds, value_at(at, n))
                    for n, v in enumerate(criterion.values)))
    return not_(indexed(matches)) if criterion.modifier == "not" else indexed(matches)


def value_at(at: At, n: int) -> At:
    return lambda request: at(request).values[n]


def _code_at(at: At) -> Take:
    return lambda request: at(request).code


def id_condition(criterion: Criterion, row, binds: Binds, at: At) -> ColumnElement[bool]:
    if criterion.missing is not None:
        return false() if criterion.missing else true()
    ids = [binds(_code_at(value_at(at, n))) for n, value in enumerate(criterion.values) if value.code]
    condition = row.logical_id.in_(ids)
    return not_(condition) if criterion.modifier == "not" else condition


def _chain_match(criterion: Criterion, table, scope: Scope, binds: Binds, at: At) -> ColumnElement[bool]:
    """The reference resolves (in its holder's partition, or among shared rows) to a target meeting the chain."""
    source, target = aliased(ResourceRow), aliased(ResourceRow)
    inner = criterion_condition(criterion.chain, target, scope, binds, lambda r: at(r).chain)
    resolved = exists().where(
        source.pk == table.resource_pk, target.resource_type == criterion.chain_type,
        target.logical_id == table.target_id, target.partition.in_((source.partition, SHARED_PARTITION)),
        target.deleted.is_(False), scope.condition(target), inner)
    return and_(table.target_type == criterion.chain_type, resolved)


def value_match(kind: str, modifier: str | None, value: SearchValue, table, binds: Binds,
                 at: At) -> ColumnElement[bool]:
    """`value`'s condition on the index `table`; `at` finds the value in another request of this shape."""
    def bound(part: str | None, change: Callable[[Any], Any] = lambda x: x) -> BindParameter:
        """The value's `part` (None: the value itself, through `change`) as a bound parameter."""
        return binds(lambda request: change(at(request) if part is None else getattr(at(request), part)))

    if kind in ("token", "uri"):
        return _token_match(value, table, bound, below=modifier == "below")
    if kind == "string":
        if modifier == "exact":
            return table.exact == bound("code")
        if modifier == "contains":
            return table.normalised.contains(bound("code", _like_escaped), escape=_LIKE_ESCAPE)
        return table.normalised.startswith(bound("code", _like_escaped), escape=_LIKE_ESCAPE)
    if kind == "reference":
        condition = table.target_id == bound("code")
        return and_(condition, table.target_type == bound("target_type")) if value.target_type else condition
    if kind == "date":
        return date_match(value, table.low, table.high, binds, at)
    condition = _number_match(value, table.value, bound)
    if kind == "quantity":
        if value.system:
            condition = and_(condition, table.system == bound("system"))
        if value.code:
            condition = and_(condition, table.code == bound("code"))
    return condition


def _like_escaped(text: str) -> str:
    """`text` as a LIKE pattern matching itself (what SQLAlchemy's `autoescape` does to a literal value)."""
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace(
        "_", _LIKE_ESCAPE + "_")


def _token_match(value: SearchValue, table, bound: Callable[..., BindParameter], *,
                 below: bool = False) -> ColumnElement[bool]:
    if below:
        return table.code.startswith(bound("code", _like_escaped), escape=_LIKE_ESCAPE)
    conditions = []
    if value.code is not None:
        conditions.append(table.code == bound("code"))
    if value.system == "":
        conditions.append(table.system.is_(None))
    elif value.system is not None:
        conditions.append(table.system == bound("system"))
    return and_(*conditions) if conditions else true()


def date_match(value: SearchValue, low, high, binds: Binds, at: At, *, instant: bool = False) -> ColumnElement[bool]:
    """Range semantics of R4 date search; the stored `high` and the searched `high` are exclusive. `instant`: the
    stored value is one instant (`low` and `high` the same column, a stored time to the microsecond, as
    `meta.lastUpdated` and an AuditEvent's `recorded` are kept), whose exclusive high is the next microsecond:
    `high <= x` is `instant < x` and `high > x` is `instant >= x`."""
    def low_of(request: SearchRequest):
        return at(request).low

    def high_of(request: SearchRequest):
        return at(request).high

    def high_within(bound: BindParameter) -> ColumnElement[bool]:  # the stored range ends by `bound`
        return high < bound if instant else high <= bound

    def high_after(bound: BindParameter) -> ColumnElement[bool]:  # the stored range goes past `bound`
        return high >= bound if instant else high > bound

    prefix = value.prefix
    if prefix == "eq":
        return and_(low >= binds(low_of), high_within(binds(high_of)))
    if prefix == "ne":
        return or_(low < binds(low_of), high_after(binds(high_of)))
    if prefix in ("lt", "eb"):
        return low < binds(low_of)
    if prefix in ("gt", "sa"):
        return high_after(binds(high_of))
    if prefix == "le":
        return low < binds(high_of)
    if prefix == "ge":
        return high_after(binds(low_of))
    # ap: within 10 % of the distance to now is the spec's suggestion; a day either side is ours
    return and_(low < binds(lambda r: high_of(r) + _DAY), high > binds(lambda r: low_of(r) - _DAY))


def instant_match(value: SearchValue, column, binds: Binds, at: At) -> ColumnElement[bool]:
    """`date_match` of a column that holds one instant (`_lastUpdated`, an AuditEvent's `date`)."""
    return date_match(value, column, column, binds, at, instant=True)


def _number_match(value: SearchValue, column, bound: Callable[..., BindParameter]) -> ColumnElement[bool]:
    """A number's range: `[number - precision/2, number + precision/2)` for eq and ne (its significant figures)."""
    def low() -> BindParameter:
        return bound(None, lambda v: v.number - v.precision / 2)

    def high() -> BindParameter:
        return bound(None, lambda v: v.number + v.precision / 2)

    prefix = value.prefix
    if prefix == "eq":
        return and_(column >= low(), column < high())
    if prefix == "ne":
        return or_(column < low(), column >= high())
    if prefix in ("lt", "eb"):
        return column < bound("number")
    if prefix in ("gt", "sa"):
        return column > bound("number")
    if prefix == "le":
        return column <= bound("number")
    if prefix == "ge":
        return column >= bound("number")
    return and_(column >= bound("number", lambda n: n * Decimal("0.9")),
                column <= bound("number", lambda n: n * Decimal("1.1")))


def sort_expression(param, row, descending: bool):
    """A correlated subquery giving each row's sort value for a parameter (or a column for _id/_lastUpdated):
    its smallest indexed value ascending, its largest descending, as R4 sorts repeating elements."""
    if param.name == "_lastUpdated":
        column = row.last_updated
    elif param.name == "_id":
        column = row.logical_id
    else:
        table = _TABLES[param.type]
        value_column = getattr(table, _SORT_COLUMNS[param.type])
        if param.type == "date" and descending:
            value_column = table.high
        aggregate = func.max if descending else func.min
        column = (select(aggregate(value_column)).where(table.resource_pk == row.pk, table.param == param.name)
                  .scalar_subquery())
    return column.desc().nulls_last() if descending else column.asc().nulls_last()

