"""A parsed `SearchRequest` as SQL: per criterion, `pk IN (the index rows that match)`.

The IN form lets the database start from the index (`ix_token_lookup` and its kin: type, parameter, value) and
look the few matching resources up by primary key; a correlated EXISTS would walk every resource of the type
first, which SQLite does (PostgreSQL turns either into a semi-join).

Values are bound parameters and LIKE patterns are escaped (`autoescape`), so `%`, `_` and quotes in a search
value match themselves. Dates compare ranges: a resource value `[low, high)` against the searched `[low, high)`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from fhirclaim.fhir.search_request import Criterion, SearchValue
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


def criterion_condition(criterion: Criterion, row, scope: Scope) -> ColumnElement[bool]:
    """The condition on `row` (a ResourceRow or an alias of it) that `criterion` asks for."""
    param = criterion.param
    if param.name == "_id":
        return _id_condition(criterion, row)
    if param.name == "_lastUpdated":
        return or_(*(_date_match(v, row.last_updated, row.last_updated) for v in criterion.values))
    table = _TABLES[param.type]

    def indexed(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return row.pk.in_(select(table.resource_pk).where(
            table.resource_type == param.resource_type, table.param == param.name, *conditions))

    if criterion.missing is not None:
        return not_(indexed()) if criterion.missing else indexed()
    if criterion.chain is not None:
        return indexed(_chain_match(criterion, table, scope))
    matches = or_(*(_value_match(param.type, criterion.modifier, v, table) for v in criterion.values))
    return not_(indexed(matches)) if criterion.modifier == "not" else indexed(matches)


def _id_condition(criterion: Criterion, row) -> ColumnElement[bool]:
    ids = [v.code for v in criterion.values if v.code]
    if criterion.missing is not None:
        return false() if criterion.missing else true()
    condition = row.logical_id.in_(ids)
    return not_(condition) if criterion.modifier == "not" else condition


def _chain_match(criterion: Criterion, table, scope: Scope) -> ColumnElement[bool]:
    """The reference resolves (in its holder's partition, or among shared rows) to a target meeting the chain."""
    source, target = aliased(ResourceRow), aliased(ResourceRow)
    inner = criterion_condition(criterion.chain, target, scope)
    resolved = exists().where(
        source.pk == table.resource_pk, target.resource_type == criterion.chain_type,
        target.logical_id == table.target_id, target.partition.in_((source.partition, SHARED_PARTITION)),
        target.deleted.is_(False), scope.condition(target), inner)
    return and_(table.target_type == criterion.chain_type, resolved)


def _value_match(kind: str, modifier: str | None, value: SearchValue, table) -> ColumnElement[bool]:
    if kind in ("token", "uri"):
        return _token_match(value, table, below=modifier == "below")
    if kind == "string":
        if modifier == "exact":
            return table.exact == value.code
        if modifier == "contains":
            return table.normalised.contains(value.code, autoescape=True)
        return table.normalised.startswith(value.code, autoescape=True)
    if kind == "reference":
        condition = table.target_id == value.code
        return and_(condition, table.target_type == value.target_type) if value.target_type else condition
    if kind == "date":
        return _date_match(value, table.low, table.high)
    condition = _number_match(value, table.value)
    if kind == "quantity":
        if value.system:
            condition = and_(condition, table.system == value.system)
        if value.code:
            condition = and_(condition, table.code == value.code)
    return condition


def _token_match(value: SearchValue, table, *, below: bool = False) -> ColumnElement[bool]:
    if below:
        return table.code.startswith(value.code, autoescape=True)
    conditions = []
    if value.code is not None:
        conditions.append(table.code == value.code)
    if value.system == "":
        conditions.append(table.system.is_(None))
    elif value.system is not None:
        conditions.append(table.system == value.system)
    return and_(*conditions) if conditions else true()


def _date_match(value: SearchValue, low, high) -> ColumnElement[bool]:
    """Range semantics of R4 date search; the stored `high` and the searched `high` are exclusive."""
    prefix = value.prefix
    if prefix == "eq":
        return and_(low >= value.low, high <= value.high)
    if prefix == "ne":
        return or_(low < value.low, high > value.high)
    if prefix in ("lt", "eb"):
        return low < value.low
    if prefix in ("gt", "sa"):
        return high > value.high
    if prefix == "le":
        return low < value.high
    if prefix == "ge":
        return high > value.low
    # ap: within 10 % of the distance to now is the spec's suggestion; a day either side is ours
    return and_(low < value.high + _DAY, high > value.low - _DAY)


def _number_match(value: SearchValue, column) -> ColumnElement[bool]:
    half = value.precision / 2
    low, high = value.number - half, value.number + half
    prefix = value.prefix
    if prefix == "eq":
        return and_(column >= low, column < high)
    if prefix == "ne":
        return or_(column < low, column >= high)
    if prefix in ("lt", "eb"):
        return column < value.number
    if prefix in ("gt", "sa"):
        return column > value.number
    if prefix == "le":
        return column <= value.number
    if prefix == "ge":
        return column >= value.number
    return and_(column >= value.number * Decimal("0.9"), column <= value.number * Decimal("1.1"))


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

