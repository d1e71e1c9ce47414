"""jsonio's prebuilt encoder and decoders (issue 17): the same text and the same values as simplejson's `dumps` and
`loads` with jsonio's options, for every JSON document in the repository and for the values only the fallback
writes (tuples, named or not), and no decoder built per call."""

from __future__ import annotations

import collections
from decimal import Decimal
from pathlib import Path

import pytest
import simplejson

from fhirclaim.fhir import jsonio
from fhirclaim.fhir.outcome import FhirError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(p for folder in ("examples", "tests/fixtures", "profiles") for p in (ROOT / folder).rglob("*.json"))
Pair = collections.namedtuple("Pair", "system code")


def _simplejson(value) -> str:
    """What `jsonio.dumps` wrote before (issue 17): simplejson's `dumps` with jsonio's options."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def test_the_documents_are_many():
    assert len(DOCUMENTS) > 50


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_document_is_written_and_read_as_simplejson_does(path):
    text = path.read_text(encoding="utf-8")
    value = simplejson.loads(text, use_decimal=True)
    assert jsonio.dumps(value) == _simplejson(value)
    assert jsonio.loads_value(text) == value
    if isinstance(value, dict):
        assert jsonio.loads_stored(text) == value


@pytest.mark.parametrize("value", [
    {"resourceType": "Claim", "total": {"value": Decimal("1400.00"), "currency": "IDR"}, "n": [1, 2.5, True, None]},
    {"text": "a\u2028b\u2029c\x7f\x00\x1f\"\\é😀\n\t"},
    {"pair": Pair("s", "c")}, {"pairs": [Pair("s", "c"), (1, 2)]}, (1, "a"), Pair(None, Decimal("1E+3")),
    [{"a": [(Decimal("0.10"),)]}], "text", 10**30, [],
])
def test_tuples_named_or_not_and_decimals_are_written_as_before(value):
    assert jsonio.dumps(value) == _simplejson(value)


@pytest.mark.parametrize("value", [float("nan"), {"a": object()}])
def test_what_cannot_be_written_is_refused_as_before(value):
    with pytest.raises((ValueError, TypeError)) as before:
        _simplejson(value)
    with pytest.raises(before.type):
        jsonio.dumps(value)


@pytest.mark.parametrize("text,key", [('{"a":1,"b":2,"a":3}', "a"), ('{"x":{"b":1,"c":2,"c":3,"b":4}}', "c")])
def test_a_repeated_key_is_refused_by_its_name(text, key):
    with pytest.raises(FhirError, match=f"repeats the key '{key}'"):
        jsonio.loads(text)


@pytest.mark.parametrize("text", ['{"a":NaN}', '{"a":Infinity}', '{"a":1,}'])
def test_what_is_not_json_is_refused(text):
    with pytest.raises(FhirError, match="Malformed JSON"):
        jsonio.loads(text)


def test_no_decoder_is_built_per_document(monkeypatch):
    built = []
    original = simplejson.JSONDecoder.__init__

    def counted(self, *args, **kwargs):
        built.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(simplejson.JSONDecoder, "__init__", counted)
    assert jsonio.loads('{"a":1.50}') == {"a": Decimal("1.50")}
    assert jsonio.loads_stored('{"a":1.50}') == {"a": Decimal("1.50")}
    assert built == []
