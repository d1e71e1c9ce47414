"""add_payment_amt for a class upgrade (upgrade_class_class, upgrade_class_los, add_payment_pct)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from inacbg_cases import cbg, claim, manual_5_1, outpatient

from fhirclaim.inacbg.upgrade import round100

# 2023 tariffs of M-1-04-II, kode_tarif AP: 51,831,400 / 45,401,200 / 38,971,000 — a 4-day stay
HIP = {"diagnosa": "S71.0#A00.1", "procedure": "81.52"}


def upgrade(kelas: str, target: str, days, pct="0", **changes) -> dict:
    return claim(**HIP, kelas_rawat=kelas, upgrade_class_ind="1", upgrade_class_class=target,
                 upgrade_class_los=days, add_payment_pct=pct, **changes)


@pytest.mark.parametrize(("sent", "amount"), [
    (upgrade("3", "kelas_1", "4"), 51_831_400 - 38_971_000),
    (upgrade("3", "kelas_1", "2"), (51_831_400 - 38_971_000) // 2),
    (upgrade("3", "kelas_2", "4"), 45_401_200 - 38_971_000),
    (upgrade("2", "kelas_1", "3"), round100(Decimal(51_831_400 - 45_401_200) * 3 / 4)),   # 4,822,650 → 4,822,700
    (upgrade("1", "vip", "4", "75"), 38_873_600),                                        # 75 % of kelas 1, half up
    (upgrade("3", "vip", "4", "75"), 38_873_600),                                        # same from any class
    (upgrade("1", "vip", "1", "35"), round100(Decimal(51_831_400) * 35 / 100 / 4)),
    (upgrade("1", "vip", "4", "0"), 0),
    (upgrade("1", "VIP", "4", "12.5"), 6_478_900),                                       # 6,478,925: case, decimals
    (claim(**HIP, upgrade_class_ind="0", upgrade_class_class="vip", upgrade_class_los="4"), 0),
    (outpatient(upgrade_class_ind="1", upgrade_class_class="kelas_1", upgrade_class_los="1"), 0),
])
def test_add_payment_amt(grouper, sent, amount):
    response = grouper.group(sent)["response"]
    assert response["add_payment_amt"] == amount
    if sent["jenis_rawat"] == "1":
        assert response["cbg"]["code"] == "M-1-04-II"


def test_the_cbg_tariff_stays_that_of_the_entitled_class(grouper):
    response = grouper.group(upgrade("3", "kelas_1", "4"))["response"]
    assert response["kelas"] == "kelas_3" and response["cbg"]["tariff"] == "38971000"


@pytest.mark.parametrize(("sent", "code"), [
    (upgrade("3", "", "4"), "X-0-94-X"),                     # the four fields go together
    (upgrade("3", "kelas_1", ""), "X-0-94-X"),
    (upgrade("1", "vip", "4", ""), "X-0-94-X"),
    (upgrade("3", "vvip", "4"), "X-0-98-X"),                 # not a class of the 2017 manual
    (upgrade("1", "kelas_2", "4"), "X-0-98-X"),              # not an upgrade
    (upgrade("2", "kelas_2", "4"), "X-0-98-X"),
    (upgrade("3", "kelas_1", "5"), "X-0-98-X"),              # more days than the stay (E2062 in 5.10)
    (upgrade("3", "kelas_1", "0"), "X-0-98-X"),
    (upgrade("3", "kelas_1", "dua"), "X-0-98-X"),
    (upgrade("1", "vip", "4", "101"), "X-0-98-X"),
    (upgrade("1", "vip", "4", "persen"), "X-0-98-X"),
])
def test_bad_upgrades(grouper, sent, code):
    assert cbg(grouper.group(sent)) == code


def test_the_manuals_example_figure_is_out_of_reach_of_its_inputs():
    """The manual shows add_payment_amt 18,792,000 for M-1-04-II (47,119,400 / 40,388,100 / 33,656,700 plus
    top-ups 13,099,000 and 26,197,900); its set_claim_data example sends vip, 5 days, 35 %, a 54-day stay.
    No formula of this family reaches the figure, so the emulator follows the regulation instead."""
    manual = manual_5_1()
    sent = manual["set_claim_data"]["request"]["data"]
    answer = manual["grouper_stage2"]["answer"]
    assert answer["response"]["add_payment_amt"] == 18_792_000 and answer["response"]["cbg"]["code"] == "M-1-04-II"
    assert (sent["upgrade_class_class"], sent["upgrade_class_los"], sent["add_payment_pct"]) == ("vip", "5", "35")
    assert (sent["tgl_masuk"][:10], sent["tgl_pulang"][:10]) == ("2016-10-26", "2016-12-18")  # 53 nights, 54 days
    tariffs = {"k1": 47_119_400, "k2": 40_388_100, "k3": 33_656_700}
    assert [(alt["kelas"], int(alt["tarif_inacbg"]), alt["tarif_sp"], alt["tarif_sr"]) for alt in answer["tarif_alt"]] \
        == [(f"kelas_{k[1]}", tariff, 13_099_000, 26_197_900) for k, tariff in tariffs.items()]
    top_ups = [0, 13_099_000, 26_197_900, 13_099_000 + 26_197_900]
    bases = [tariffs["k1"], tariffs["k1"] - tariffs["k2"], tariffs["k1"] - tariffs["k3"]]
    shares = [Decimal(1), Decimal(5) / 54, Decimal(5) / 53]
    pcts = [Decimal(1), Decimal("0.35"), Decimal("0.75")]
    for base, top_up, share, pct in itertools.product(bases, top_ups, shares, pcts):
        assert round100((base + top_up) * pct * share) != 18_792_000
