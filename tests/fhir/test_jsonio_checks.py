"""jsonio.loads checks strings only when the text can hide a NUL or a lone surrogate (a `\\u` escape): the same
answers either way (issue 17)."""

from __future__ import annotations

import pytest

from fhirclaim.fhir import jsonio
from fhirclaim.fhir.outcome import FhirError


@pytest.mark.parametrize("text", ['{"a":"\\u0000"}', '{"a":["\\ud800"]}', '{"\\u0000":1}', '{"a":"\\udfff x"}'])
def test_an_escaped_nul_or_lone_surrogate_is_refused(text):
    for body in (text, text.encode()):
        with pytest.raises(FhirError):
            jsonio.loads(body)


@pytest.mark.parametrize("text,value", [('{"a":"\\\\u0000"}', {"a": "\\u0000"}), ('{"a":"\\u00e9"}', {"a": "é"}),
                                        ('{"a":"\\ud83d\\ude00"}', {"a": "😀"}), ('{"a":[[1],{"b":"c"}]}', None)])
def test_escapes_that_make_text_are_kept(text, value):
    assert jsonio.loads(text) == (value if value is not None else {"a": [[1], {"b": "c"}]})


@pytest.mark.parametrize("escaped", [False, True])
def test_the_depth_is_checked_with_or_without_escapes(escaped):
    leaf = '"\\u00e9"' if escaped else "1"
    deep = '{"a":[' * 40 + leaf + "]}" * 40
    with pytest.raises(FhirError, match="nests deeper"):
        jsonio.loads(deep)
    assert jsonio.loads('{"a":[' * 20 + leaf + "]}" * 20)
    assert jsonio.loads_value("5") == 5


def test_the_depth_limit_is_exact():
    assert jsonio.loads_value("[" * 64 + "]" * 64) is not None
    with pytest.raises(FhirError, match="nests deeper"):
        jsonio.loads_value("[" * 65 + "]" * 65)
    assert jsonio.loads('{"a":"' + "{[" * 100 + '","b":[[1]]}')["b"] == [[1]]  # brackets in strings only count
