"""A FHIR search query string, parsed into values before anything runs it.

`parse_search(resource_type, pairs)` turns `[("identifier", "sys|123"), ("created", "ge2024-01-01"), ...]`
into a `SearchRequest`: criteria (AND across parameters, OR across comma-separated values), result
parameters (`_count`, `_offset`, `_sort`, `_include`, `_revinclude`, `_total`, `_summary`) and, under
`Prefer: handling=lenient`, the parameters it ignored. The store executes the value; it never sees the string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fhirclaim.fhir import dates, integers, jsonio
from fhirclaim.fhir.indexing.reference import external_key, is_absolute, localise, named
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.indexing.string import normalise
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.search_params import SearchParameter, registry

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")  # FHIR's decimal, ASCII digits only
PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")
MODIFIERS = {
    "token": {"missing", "not", "exact"},
    "uri": {"missing", "exact", "below"},
    "string": {"missing", "exact", "contains"},
    "reference": {"missing"},  # plus a resource type, e.g. subject:Patient
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
}
RESULT_PARAMETERS = {"_count", "_offset", "_sort", "_include", "_revinclude", "_total", "_summary", "_format",
                     "_pretty", "_elements"}
MAX_PAIRS = 100  # parameters in one search
MAX_VALUE_LENGTH = 2048  # characters of one parameter's value (SQLite refuses LIKE patterns over 50,000 bytes)
MAX_NAME_LENGTH = 256  # characters of one parameter's name, modifiers and chain included
MAX_VALUES = 100  # comma-separated values of one parameter (SQLite nests an OR at most 1000 deep)
MAX_EXPONENT = 64  # a number's decimal exponent either way (PostgreSQL's numeric overflows far beyond)
SORTABLE = {"date", "string", "token", "number", "quantity", "uri", "reference"}  # every declared type


@dataclass(frozen=True)
class SearchValue:
    raw: str
    prefix: str = "eq"
    system: str | None = None  # token: None = any system, "" = no system
    code: str | None = None  # token code; string: normalised text; reference: target id
    target_type: str | None = None  # reference
    low: datetime | None = None  # date
    high: datetime | None = None
    number: Decimal | None = None  # number, quantity: [number - precision/2, number + precision/2)
    precision: Decimal | None = None


@dataclass(frozen=True)
class Criterion:
    param: SearchParameter
    modifier: str | None
    values: tuple[SearchValue, ...] = ()
    missing: bool | None = None
    chain: Criterion | None = None  # `request.provider=...`: the criterion on the referenced resource
    chain_type: str | None = None


@dataclass(frozen=True)
class Include:
    source_type: str
    param: SearchParameter
    target_type: str | None
    iterate: bool = False


@dataclass
class SearchRequest:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = 20
    offset: int = 0
    sort: list[tuple[SearchParameter, bool]] = field(default_factory=list)  # (parameter, descending)
    include: list[Include] = field(default_factory=list)
    revinclude: list[Include] = field(default_factory=list)
    total: str = "accurate"  # none | estimate | accurate
    summary_count: bool = False
    ignored: list[str] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)  # what the self link shows


def parse_search(resource_type: str, pairs: list[tuple[str, str]], *, lenient: bool = False,
                 default_count: int = 20, max_count: int = 500, timezone: str = "UTC",
                 base_urls: tuple[str, ...] = ()) -> SearchRequest:
    """`base_urls`: this server's FHIR bases; a reference value under one of them means the local resource, any
    other absolute URL another server's (as the service stores and indexes them)."""
    request = SearchRequest(resource_type, count=default_count)
    if len(pairs) > MAX_PAIRS:
        raise FhirError.of(400, "too-long", f"A search takes at most {MAX_PAIRS} parameters, not {len(pairs)}")
    for key, value in pairs:
        _check_bounds(key, value)
        try:
            _parse_pair(request, key, value, max_count, timezone, base_urls)
        except _Unknown as exc:
            if not lenient:
                raise FhirError.of(400, "not-supported", f"{exc} (send 'Prefer: handling=lenient' to ignore it)",
                                   key) from None
            request.ignored.append(key)
            continue
        request.used.append((key, value))
    return request


class _Unknown(Exception):
    pass


def _check_bounds(key: str, value: str) -> None:
    """Names and values the store can run: bounded in length, storable text (no NUL, no lone surrogates)."""
    if len(key) > MAX_NAME_LENGTH:
        raise FhirError.of(400, "too-long", f"A search parameter name is longer than {MAX_NAME_LENGTH} characters")
    if len(value) > MAX_VALUE_LENGTH:
        raise FhirError.of(400, "too-long", f"The value of {key[:64]} is longer than {MAX_VALUE_LENGTH} characters",
                           key[:64])
    if not (jsonio.is_storable_text(key) and jsonio.is_storable_text(value)):
        raise FhirError.of(400, "value", f"The search parameter {key[:64]!r} holds a NUL or a lone surrogate, "
                                         f"not text")


def _parse_pair(request: SearchRequest, key: str, value: str, max_count: int, timezone: str,
                base_urls: tuple[str, ...]) -> None:
    name = key.split(":", 1)[0]
    if name in RESULT_PARAMETERS:
        _parse_result_parameter(request, key, value, max_count)
    else:
        request.criteria.append(_criterion(request.resource_type, key, value, timezone, base_urls))


def _parse_result_parameter(request: SearchRequest, key: str, value: str, max_count: int) -> None:
    if key == "_count":
        request.count = min(integers.non_negative(key, value), max_count)
    elif key == "_offset":
        request.offset = integers.non_negative(key, value)
    elif key == "_sort":
        request.sort = [_sort_key(request.resource_type, part) for part in value.split(",") if part]
    elif key in ("_include", "_include:iterate", "_revinclude", "_revinclude:iterate"):
        include = _include(value, key.endswith(":iterate"))
        (request.include if key.startswith("_include") else request.revinclude).append(include)
    elif key == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise FhirError.of(400, "value", "_total must be none, estimate or accurate", key)
        request.total = value
    elif key == "_summary":
        if value == "count":
            request.summary_count = True
        elif value != "false":
            raise _Unknown(f"_summary={value} is not supported (count and false are)")
    elif key.split(":")[0] in RESULT_PARAMETERS and ":" in key:
        raise _Unknown(f"Unknown modifier in {key}")
    # _format, _pretty, _elements: the HTTP layer's business (or harmless to ignore)


def _sort_key(resource_type: str, part: str) -> tuple[SearchParameter, bool]:
    descending = part.startswith("-")
    param = registry().get(resource_type, part.lstrip("-"))
    if param is None:
        raise _Unknown(f"Unknown sort parameter {part.lstrip('-')!r} for {resource_type}")
    if param.type not in SORTABLE:
        raise FhirError.of(400, "not-supported", f"Cannot sort on the {param.type} parameter {param.name}")
    return param, descending


def _include(value: str, iterate: bool) -> Include:
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise FhirError.of(400, "value", f"_include/_revinclude takes Type:parameter[:targetType], not {value!r}")
    param = registry().get(parts[0], parts[1])
    if param is None or param.type != "reference":
        raise _Unknown(f"{parts[0]}:{parts[1]} is not a reference parameter")
    return Include(parts[0], param, parts[2] if len(parts) == 3 else None, iterate)


def _criterion(resource_type: str, key: str, value: str, timezone: str, base_urls: tuple[str, ...] = ()) -> Criterion:
    key, _, chain = key.partition(".")
    name, _, modifier = key.partition(":")
    param = registry().get(resource_type, name)
    if param is None:
        raise _Unknown(f"Unknown search parameter {name!r} for {resource_type}")
    modifier = modifier or None
    if chain:
        return _chained(param, modifier, chain, value, timezone, base_urls)
    if modifier == "missing":
        if value not in ("true", "false"):
            raise FhirError.of(400, "value", f"{key} takes true or false", key)
        return Criterion(param, modifier, missing=value == "true")
    target_type = None
    if modifier and modifier not in MODIFIERS[param.type]:
        if param.type == "reference" and modifier[:1].isupper():
            target_type = modifier
        else:
            raise _Unknown(f"Modifier :{modifier} is not supported on the {param.type} parameter {name}")
    raws = split_values(value)
    if len(raws) > MAX_VALUES:
        raise FhirError.of(400, "too-long", f"{name} takes at most {MAX_VALUES} values, not {len(raws)}", key)
    values = tuple(_value(param, raw, modifier, target_type, timezone, base_urls) for raw in raws)
    if not values:
        raise FhirError.of(400, "value", f"The search parameter {name} has no value", key)
    return Criterion(param, modifier if target_type is None else None, values)


def _chained(param: SearchParameter, modifier: str | None, chain: str, value: str, timezone: str,
             base_urls: tuple[str, ...]) -> Criterion:
    if param.type != "reference":
        raise FhirError.of(400, "invalid", f"Only reference parameters can be chained; {param.name} is a {param.type}")
    targets = [modifier] if modifier else list(param.targets or [])
    if len(targets) != 1:
        raise FhirError.of(400, "invalid", f"Chain {param.name}.{chain}: name the target type, e.g. "
                                           f"{param.name}:{(param.targets or ['Type'])[0]}.{chain}")
    inner = _criterion(targets[0], chain, value, timezone, base_urls)
    return Criterion(param, None, chain=inner, chain_type=targets[0])


def split_values(text: str) -> list[str]:
    """Split on unescaped commas; `\\,` is a literal comma."""
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char if char in ",|$\\" else "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current + ("\\" if escaped else ""))
    return [p for p in parts if p != ""]


def _value(param: SearchParameter, raw: str, modifier: str | None, target_type: str | None,
           timezone: str, base_urls: tuple[str, ...] = ()) -> SearchValue:
    kind = param.type
    if kind == "token":
        return _token(raw)
    if kind == "uri":
        return SearchValue(raw, code=raw)
    if kind == "string":
        return SearchValue(raw, code=raw if modifier == "exact" else normalise(raw))
    if kind == "reference":
        return _reference(param, raw, target_type, base_urls)
    prefix, rest = _prefix(raw)
    if kind == "date":
        try:
            low, high = dates.to_range(rest, timezone)
        except dates.DateFormatError as exc:
            raise FhirError.of(400, "value", f"{param.name}: {exc}", param.name) from None
        return SearchValue(raw, prefix, low=low, high=high)
    number, _, unit = rest.partition("|")
    system, _, code = unit.partition("|") if unit else ("", "", "")
    amount, precision = _number(param.name, number)
    return SearchValue(raw, prefix, system=system or None, code=code or None, number=amount, precision=precision)


def _token(raw: str) -> SearchValue:
    if "|" in raw:
        system, code = raw.split("|", 1)
        return SearchValue(raw, system=system, code=code or None)
    return SearchValue(raw, system=None, code=raw)


def _reference(param: SearchParameter, raw: str, target_type: str | None,
               base_urls: tuple[str, ...] = ()) -> SearchValue:
    if is_absolute(raw) and localise(raw, base_urls) is None:  # another server's resource, indexed by its URL
        external = named(raw)
        if target_type and external and external[0] != target_type:
            raise FhirError.of(400, "value", f"{param.name}:{target_type} cannot match {raw}", param.name)
        return SearchValue(raw, target_type=external[0] if external else target_type, code=external_key(raw))
    parsed = parse_reference(localise(raw, base_urls) or raw)
    if parsed:
        if target_type and parsed[0] != target_type:
            raise FhirError.of(400, "value", f"{param.name}:{target_type} cannot match {raw}", param.name)
        return SearchValue(raw, target_type=parsed[0], code=parsed[1])
    if re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", raw):  # a bare id: any allowed target type
        single = target_type or (param.targets[0] if param.targets and len(param.targets) == 1 else None)
        return SearchValue(raw, target_type=single, code=raw)
    raise FhirError.of(400, "value", f"{param.name}: {raw!r} is not a reference (Type/id or id)", param.name)


def _prefix(raw: str) -> tuple[str, str]:
    if raw[:2] in PREFIXES and len(raw) > 2 and not raw[2].isalpha():
        return raw[:2], raw[2:]
    return "eq", raw


def _number(name: str, text: str) -> tuple[Decimal, Decimal]:
    if not _DECIMAL.fullmatch(text):  # Decimal() alone takes '١٢', '1_000', ' 12 ', 'NaN'
        raise FhirError.of(400, "value", f"{name}: {text[:40]!r} is not a number", name)
    amount = Decimal(text)
    exponent = amount.as_tuple().exponent
    if abs(amount.adjusted()) > MAX_EXPONENT or abs(int(exponent)) > MAX_EXPONENT:
        raise FhirError.of(400, "value", f"{name}: {text[:40]!r} is out of range (|exponent| up to {MAX_EXPONENT})",
                           name)
    return amount, Decimal(1).scaleb(int(exponent) if isinstance(exponent, int) else 0)
