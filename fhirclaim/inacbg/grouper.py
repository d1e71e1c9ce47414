"""The INA-CBG grouper emulator: set_claim_data fields in, the E-Klaim 5.1 grouper answer out.

    grouper = Grouper()                                   # packaged tables; Grouper(Path("tarif.csv")) for own tariffs
    stage1 = grouper.group(claim)                         # {"response": …, "special_cmg_option": […], "tarif_alt": […]}
    stage2 = grouper.group(claim, special_cmg=["RR04", "YY01"])

`claim` holds the set_claim_data fields with E-Klaim's names and values as sent (tgl_masuk, tgl_pulang,
jenis_rawat, kelas_rawat, adl_sub_acute, adl_chronic, icu_los, upgrade_class_*, add_payment_pct, birth_weight,
discharge_status, diagnosa "S71.0#A00.1", procedure "81.52#88.38", tarif_rs, kode_tarif, …) plus the patient's
tgl_lahir and gender. The answer is the manual's grouper answer without `metadata`, with the manual's value types
(cbg.tariff and tarif_inacbg are strings, the other amounts integers):

- response.cbg {code, description, tariff}; response.sub_acute / response.chronic {code, description, tariff}
  when an ADL score is given; response.special_cmg [{code, description, tariff, type}] in stage 2 (the chosen
  options that were offered); response.kelas, add_payment_amt, inacbg_version ("5.1.0-emulated.<tables>");
- special_cmg_option [{code, description, type}], empty when there is none (E-Klaim then leaves the key out);
- tarif_alt: kelas_1..3 with tarif_inacbg, and tarif_sp / tarif_sr / tarif_si / tarif_sd for granted top-ups.

Bad clinical or administrative data never raises: the answer is an error group (cbg code X-0-…-X with its
description and tariff "0"), as a real grouper answers; data/error_groups.csv says which input reaches which.
Tariffs follow the edition in force on the discharge date (tariff_editions.csv).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fhirclaim.inacbg import casemix, topups
from fhirclaim.inacbg.casemix import Grouping
from fhirclaim.inacbg.episode import Episode, Ungroupable, read_adl, read_episode, text
from fhirclaim.inacbg.grouper_tables import Tables, load_tables
from fhirclaim.inacbg.tariffs import KELAS, TariffTable
from fhirclaim.inacbg.upgrade import add_payment_amt

TARIF_ALT_KEY = {"Special Procedure": "tarif_sp", "Special Prosthesis": "tarif_sr",
                 "Special Investigation": "tarif_si", "Special Drug": "tarif_sd"}


class Grouper:
    """Deterministic, table-driven INA-CBG grouping; one instance serves any number of claims (and threads)."""

    def __init__(self, tariff_table: Path | None = None):
        self._tables: Tables = load_tables()
        self._tariffs = TariffTable.from_csv(Path(tariff_table)) if tariff_table else TariffTable.packaged()
        self.version: str = f"{self._tables.grouper_version}-emulated.{self._tables.version}"

    def group(self, claim: Mapping[str, Any], special_cmg: Sequence[str] = ()) -> dict:
        """Stage 1 (no special_cmg) or stage 2 (the chosen option codes, e.g. ["RR04", "YY01"] or "RR04#YY01")."""
        chosen = special_cmg.split("#") if isinstance(special_cmg, str) else list(special_cmg)
        try:
            return _Answer(self, claim, chosen).build()
        except Ungroupable as error:
            return self._error(error.code, claim)

    def _error(self, code: str, claim: Mapping[str, Any]) -> dict:
        kelas = f"kelas_{text(claim.get('kelas_rawat'))}"
        response = {"cbg": {"code": code, "description": self._tables.errors[code], "tariff": "0"},
                    "kelas": kelas if kelas in KELAS else "", "add_payment_amt": 0, "inacbg_version": self.version}
        return {"response": response, "special_cmg_option": [], "tarif_alt": []}


class _Answer:
    """One grouping, step by step; every lookup that finds nothing raises Ungroupable."""

    def __init__(self, grouper: Grouper, claim: Mapping[str, Any], chosen: list[str]):
        self.tables, self.tariffs, self.version = grouper._tables, grouper._tariffs, grouper.version
        self.claim = claim
        self.stage2 = bool(chosen)
        self.episode: Episode = read_episode(claim, chosen, self.tables)
        self.edition = self.tables.edition_for(self.episode.discharged).name

    def build(self) -> dict:
        episode = self.episode
        cmg = casemix.principal_cmg(episode, self.tables)
        adl_allowed = episode.inpatient and cmg not in ("O", "P")
        sub_acute = read_adl(self.claim, "adl_sub_acute", "X-0-21-X", adl_allowed)
        chronic = read_adl(self.claim, "adl_chronic", "X-0-22-X", adl_allowed)
        grouping = casemix.classify(episode, cmg, self.tables)
        options = topups.special_options(episode, grouping, self.edition, self.tables)
        specials = topups.granted(options, episode.special_cmg)

        response: dict[str, Any] = {"cbg": {"code": grouping.code, "description": grouping.description(self.tables),
                                            "tariff": str(self._price(grouping.code, episode.kelas))}}
        if sub_acute is not None:
            response["sub_acute"] = self._adl_group(topups.adl_band(sub_acute, self.tables).sub_acute_group, sub_acute)
        if chronic is not None:
            response["chronic"] = self._adl_group(topups.adl_band(chronic, self.tables).chronic_group, chronic)
        if self.stage2:
            response["special_cmg"] = [{"code": special.group_code, "description": special.group_description,
                                        "tariff": self._price(special.group_code, episode.kelas),
                                        "type": special.type} for special in specials]
        response["kelas"] = episode.kelas
        response["add_payment_amt"] = add_payment_amt(episode.upgrade, episode.kelas, episode.los,
                                                      lambda kelas: self._price(grouping.code, kelas))
        response["inacbg_version"] = self.version
        return {"response": response,
                "special_cmg_option": [{"code": option.option_code, "description": option.option_description,
                                        "type": option.type} for option in options],
                "tarif_alt": self._tarif_alt(grouping, specials)}

    def _adl_group(self, code: str, score: int) -> dict:
        return {"code": code, "description": topups.adl_description(score, self.episode),
                "tariff": self._price(code, self.episode.kelas)}

    def _tarif_alt(self, grouping: Grouping, specials: list) -> list[dict]:
        rows = []
        for kelas in KELAS:
            row: dict[str, Any] = {"kelas": kelas, "tarif_inacbg": str(self._price(grouping.code, kelas))}
            for special in specials:
                row[TARIF_ALT_KEY[special.type]] = self._price(special.group_code, kelas)
            rows.append(row)
        return rows

    def _price(self, code: str, kelas: str) -> int:
        found = self.tariffs.tariff(self.edition, self.episode.kode_tarif, code, kelas)
        if found is None:
            raise Ungroupable("X-0-99-X")  # an empty result, as E-Klaim reports a grouper that gave none
        return found
