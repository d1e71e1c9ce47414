"""The grouper tables hold together: real codes, no dangling CBG, every code has a CMG and a class."""

from __future__ import annotations

from functools import cache

import pytest

from fhirclaim.inacbg.codeset import CodeSet, bare
from fhirclaim.inacbg.grouper_tables import load_tables, read_json, rows
from fhirclaim.inacbg.tariffs import TariffTable
from fhirclaim.terminology import icd9cm, icd10

TABLES = load_tables()


@cache
def prefixes(system: str) -> frozenset[str]:
    codes = icd10.all_codes() if system == "icd10" else icd9cm.all_codes()
    return frozenset(bare(code)[:length] for code in codes for length in range(2, len(bare(code)) + 1))


def code_sets() -> list[tuple[str, str, str]]:
    """(table, cell, system) of every code-set cell of every table."""
    found = [("cmg_map.csv", row["codes"], "icd10") for row in rows("cmg_map.csv")]
    found += [("severity_cc.csv", row["codes"], "icd10") for row in rows("severity_cc.csv")]
    found += [("principal_edits.csv", row["codes"], "icd10") for row in rows("principal_edits.csv")]
    found += [("procedure_classes.csv", row["codes"], "icd9") for row in rows("procedure_classes.csv")]
    found += [("procedure_edits.csv", row["codes"], "icd9") for row in rows("procedure_edits.csv")]
    found += [("procedure_edits.csv", row["codes_required"], "icd10") for row in rows("procedure_edits.csv")]
    found += [("cbg_rules.csv", row["codes"], "icd9" if row["key"] == "px" else "icd10")
              for row in rows("cbg_rules.csv") if row["key"] != "any" and row["codes"] != "*"]
    found += [("special_cmg.csv", row["required_diags"], "icd10") for row in rows("special_cmg.csv")]
    found += [("special_cmg.csv", row["required_procs"], "icd9") for row in rows("special_cmg.csv")]
    return [item for item in found if item[1]]


@pytest.mark.parametrize(("table", "cell", "system"), code_sets())
def test_every_code_in_the_tables_exists(table, cell, system):
    for pattern in CodeSet.parse(cell).patterns:
        assert pattern.low in prefixes(system) and pattern.high in prefixes(system), (table, cell)


def test_every_icd10_code_has_a_cmg_or_is_an_external_cause():
    for code in icd10.all_codes():
        cmg = TABLES.cmg_of.get(code)
        assert cmg in TABLES.cmg_names or (cmg == "" and icd10.chapter(code) == "XX"), code


def test_every_procedure_has_a_class():
    assert all(TABLES.procedure_class.get(code) for code in icd9cm.all_codes())


def test_cbg_catalogue_and_rules_match():
    catalogue = {row["cbg"] for row in rows("cbg.csv")}
    ruled = {row["cbg"] for row in rows("cbg_rules.csv")}
    assert catalogue == ruled
    for row in rows("cbg_rules.csv"):
        cmg, case_type, number = row["cbg"].split("-")
        assert case_type == row["case_type"] and len(number) == 2 and cmg in TABLES.cmg_names


def test_every_acute_cmg_has_fallbacks():
    acute = {code for code, row in ((row["cmg_code"], row) for row in rows("cmg.csv")) if row["kind"] == "acute"}
    for cmg in acute - {"O", "P"}:
        for case_type in ("1", "2", "3", "4"):
            keys = {rule.key for rule in TABLES.cbg_rules.get((cmg, case_type), [])}
            assert "any" in keys or (cmg, case_type) == ("Z", "4"), (cmg, case_type)  # Z00-Z13 &c.: X-0-00-X


def test_every_group_has_tariffs_in_every_edition_kode_and_kelas():
    tariffs = TariffTable.packaged()
    kode_tarif = read_json("tariff_basis.json")["kode_tarif_factor"]
    for row in rows("cbg.csv"):
        inpatient = row["cbg"].split("-")[1] in ("1", "4", "6", "8")
        for severity in ("I", "II", "III") if inpatient else ("0",):
            for edition in ("2016", "2023"):
                for kode in kode_tarif:
                    for kelas in ("kelas_1", "kelas_2", "kelas_3"):
                        assert tariffs.tariff(edition, kode, f"{row['cbg']}-{severity}", kelas), (row, edition)


def test_special_cmg_eligibility_names_real_groups():
    codes = {f"{row['cbg']}-{severity}" for row in rows("cbg.csv") for severity in ("0", "I", "II", "III")}
    for special in TABLES.specials:
        assert special.eligible_cbgs is None or special.eligible_cbgs <= codes, special.option_code
        assert special.type in ("Special Procedure", "Special Prosthesis", "Special Investigation", "Special Drug")
        prefix = {"Special Procedure": "YY", "Special Prosthesis": "RR", "Special Drug": "DD"}.get(special.type)
        assert special.group_code.startswith(prefix or ("II", "IJ"))


def test_editions_follow_each_other_without_a_gap():
    first, second = TABLES.editions
    assert first.valid_from is None and second.valid_to is None
    assert (second.valid_from - first.valid_to).days == 1


def test_the_manifest_lists_every_data_file():
    from fhirclaim.inacbg.grouper_tables import DATA

    files = {entry.name for entry in DATA.iterdir() if entry.name.endswith((".csv", ".json"))} - {"manifest.json"}
    assert files == set(read_json("manifest.json")["tables"])
