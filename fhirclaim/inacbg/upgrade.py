"""add_payment_amt: what a patient who moved to a higher room class pays on top of the INA-CBG tariff.

Seed 002 gives the inputs: upgrade_class_class (kelas_1 | kelas_2 | vip), upgrade_class_los (the days spent in
the higher class) and add_payment_pct ("koefisien tambahan biaya khusus jika pasien naik ke kelas VIP"). The rule
is that of the JKN regulations the manual refers to (PMK 51/2018 art. 10, PMK 3/2023):
- to kelas_1 or kelas_2: the difference between the CBG tariff of the chosen class and that of the entitled one;
- to vip (above kelas 1): add_payment_pct percent of the kelas 1 CBG tariff (the regulation caps it at 75 %);
then prorated by the share of the stay spent in the higher class, and rounded half up to a multiple of 100 rupiah:

    add_payment_amt = round100( episode_amount × upgrade_class_los / los )

Only the CBG tariff counts: special CMG, sub-acute and chronic tariffs are the same in every class.
The manual's example figure (18,792,000 for M-1-04-II, kelas_2) cannot be reached from its visible inputs by this
or any simple rule (see tests/inacbg/test_upgrade.py), so it is not reproduced.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from fhirclaim.inacbg.episode import Upgrade

STEP = Decimal(100)


def round100(amount: Decimal) -> int:
    return int((amount / STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * STEP)


def add_payment_amt(upgrade: Upgrade | None, kelas: str, los: int, cbg_tariff: Callable[[str], int]) -> int:
    """The amount for an upgrade (0 without one); `cbg_tariff(kelas)` is the grouped CBG's tariff in a class."""
    if upgrade is None:
        return 0
    if upgrade.target == "vip":
        episode_amount = Decimal(cbg_tariff("kelas_1")) * upgrade.pct / 100
    else:
        episode_amount = Decimal(cbg_tariff(upgrade.target) - cbg_tariff(kelas))
    return round100(episode_amount * upgrade.days / los)
