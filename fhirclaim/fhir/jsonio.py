"""FHIR JSON in and out.

FHIR decimals carry their precision (`1400.00` is not `1400.0`), so JSON numbers with a fraction or exponent
are read as `Decimal` and written back as they came (simplejson's `use_decimal`). Parsing also enforces the
limits that keep a request from tying up the server: a maximum nesting depth, no NaN/Infinity, no duplicate
keys, no lone surrogates (`"\\udfff"` parses, but is no Unicode text: it cannot be stored or encoded) and no NUL
(`"\\u0000"`: PostgreSQL text cannot hold it), and an object at the top.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import simplejson

from fhirclaim.fhir.outcome import FhirError


class JsonTooDeep(ValueError):
    pass


class NotText(ValueError):
    pass


_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def is_storable_text(text: str) -> bool:
    """False for a string holding a NUL (PostgreSQL text cannot) or a lone surrogate (no encoding can)."""
    return not _NOT_TEXT.search(text)


def loads(body: bytes | str, *, max_depth: int = 64) -> dict[str, Any]:
    """Parse a request body into a JSON object (a resource), or raise FhirError 400."""
    value = loads_value(body, max_depth=max_depth)
    if not isinstance(value, dict):
        raise FhirError.of(400, "structure", "The body must be a JSON object (a FHIR resource)")
    return value


def loads_value(body: bytes | str, *, max_depth: int = 64) -> Any:
    """Parse any JSON value (a JSON Patch is an array), or raise FhirError 400."""
    try:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        value = _DECODER.decode(body)
        if _may_hide_untext(body):
            _check_tree(value, max_depth)
        elif body.count("{") + body.count("[") > max_depth:  # each container opens with one: else none is too deep
            _check_depth(value, max_depth)
    except UnicodeDecodeError:
        raise FhirError.of(400, "structure", "The body is not UTF-8 encoded") from None
    except RecursionError:
        raise FhirError.of(400, "too-long", f"The JSON nests deeper than {max_depth} levels") from None
    except JsonTooDeep as exc:
        raise FhirError.of(400, "too-long", str(exc)) from None
    except NotText:
        raise FhirError.of(400, "structure", "The JSON holds a NUL (\\u0000) or a lone surrogate escape "
                                             "(\\ud800-\\udfff), which is not storable text") from None
    except _DuplicateKey as exc:
        raise FhirError.of(400, "structure", f"The JSON object repeats the key {exc.args[0]!r}") from None
    except simplejson.JSONDecodeError as exc:
        raise FhirError.of(400, "structure", f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    return value


def loads_stored(text: str) -> Any:
    """What `dumps` wrote, read back (the store's content: written here, so neither checked nor bounded again), its
    numbers as Decimals. The decoder is built once: `simplejson.loads` builds one at every call (issue 17)."""
    return _STORED.decode(text)


def dumps(value: Any, *, pretty: bool = False) -> str:
    if not pretty:
        try:
            return _PLAIN.encode(value)
        except TypeError:  # a tuple, named or not (or something no encoder writes): as `_COMPACT` writes it
            return _COMPACT.encode(value)
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, allow_nan=False, indent=2)


# What `simplejson.dumps` builds on every call with these options (a write stores two documents, issue 17)
_COMPACT = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# `_COMPACT` without its named-tuple check, which asks every object and array for an `_asdict` method (half of its
# time on a resource, issue 17). It refuses tuples instead (TypeError), so that a value holding a named tuple (an
# object to `_COMPACT`) or a plain one (an array) is written by `_COMPACT`: the same text either way. (Only a dict or
# list subclass with an `_asdict` method, of which there is none here, would be written otherwise: as what it is.)
_PLAIN = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                                namedtuple_as_object=False, tuple_as_array=False)


def plain(value: Any) -> Any:
    """A copy with Decimals as int/float, for libraries that only know JSON's own number types."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "E" not in str(value) else float(value)
    return value


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in one call; a key given twice leaves fewer entries than pairs (issue 17)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


# What `simplejson.loads(..., use_decimal=True[, object_pairs_hook=...])` builds on every call (issue 17)
_DECODER = simplejson.JSONDecoder(parse_float=Decimal, object_pairs_hook=_no_duplicate_keys)
_STORED = simplejson.JSONDecoder(parse_float=Decimal)


def _may_hide_untext(body: str) -> bool:
    """Whether a parsed string of `body` can hold a NUL or a lone surrogate: only through a `\\u` escape, or when the
    text itself holds one (a raw control character in a string is malformed JSON anyway)."""
    return "\\u" in body or not is_storable_text(body)


def _check_tree(value: Any, max_depth: int) -> None:
    """Every container within `max_depth`, every string and key free of NUL and lone surrogates."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not is_storable_text(node):
                raise NotText()
            continue
        if depth > max_depth:
            raise JsonTooDeep(f"The JSON nests deeper than {max_depth} levels")
        if isinstance(node, dict):
            stack.extend((k, depth) for k in node)
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list, str)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list, str)))


def _check_depth(value: Any, max_depth: int) -> None:
    """Every container within `max_depth` (strings need no look: the text they came from holds no `\\u`)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise JsonTooDeep(f"The JSON nests deeper than {max_depth} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))
