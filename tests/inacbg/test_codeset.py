"""The code-set notation of the grouper tables."""

from __future__ import annotations

import pytest

from fhirclaim.inacbg.codeset import CodeMap, CodeSet


@pytest.mark.parametrize(("cell", "inside", "outside"), [
    ("A41", ["A41", "A41.9", "a419"], ["A40.9", "A4", "B41"]),
    ("A40-A41", ["A40.0", "A41.9"], ["A39.9", "A42"]),
    ("A39.1-A39.4", ["A39.1", "A39.4"], ["A39", "A39.0", "A39.5"]),
    ("81.51-81.55", ["81.51", "8155"], ["81.5", "81.56", "81.50"]),
    ("74", ["74.0", "74.99"], ["73.9", "7"]),
    ("01-86", ["01.21", "86.69"], ["00.01", "87.03", "99.25"]),
    ("*", ["A00", "81.52"], [""]),
    ("", [], ["A00"]),
])
def test_membership(cell, inside, outside):
    codes = CodeSet.parse(cell)
    assert all(code in codes for code in inside)
    assert not any(code in codes for code in outside)


@pytest.mark.parametrize("cell", ["A41-A40", "A4-A41", "81.5-81", "-A40"])
def test_malformed_cells_are_refused(cell):
    with pytest.raises(ValueError, match="bad code pattern"):
        CodeSet.parse(cell)


def test_the_most_specific_row_wins():
    rows = CodeMap([(CodeSet.parse("S00-T98"), "S"), (CodeSet.parse("S40-S99"), "M"), (CodeSet.parse("S72"), "X"),
                    (CodeSet.parse("S72.0"), "Y"), (CodeSet.parse("S70-S79"), "Z"), (CodeSet.parse("*"), "any")])
    assert [rows.get(code) for code in ("T20.3", "S42.0", "S72.1", "S72.0", "S71.0", "A09")] == [
        "S", "M", "X", "Y", "Z", "any"]


def test_ties_go_to_the_first_row():
    rows = CodeMap([(CodeSet.parse("A00-A09"), "first"), (CodeSet.parse("A00-A09"), "second")])
    assert rows.get("A09") == "first"
    assert rows.get("B00") is None
