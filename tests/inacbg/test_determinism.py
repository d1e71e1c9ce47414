"""The same claims give the same answers: across calls, instances, and whatever came before."""

from __future__ import annotations

import json
import random

from inacbg_cases import claim, neonate, outpatient, stay_2016

from fhirclaim.inacbg.grouper import Grouper

CLAIMS = [
    stay_2016(kelas_rawat="2", diagnosa="S71.0#A00.1", procedure="81.52#88.38"),
    claim(diagnosa="A41.9#E87.1", adl_sub_acute="30"),
    outpatient(diagnosa="H25.9", procedure="13.41"),
    neonate(diagnosa="P07.1", birth_weight="1900"),
    claim(diagnosa="O82.0", procedure="74.1#99.04"),
    claim(diagnosa="S72.00"),
    claim(diagnosa="M17.1", procedure="81.54", upgrade_class_ind="1", upgrade_class_class="vip",
          upgrade_class_los="2", add_payment_pct="40", kelas_rawat="1"),
]


def dump(answers) -> str:
    return json.dumps(answers, sort_keys=True)


def test_repeated_calls_agree(grouper):
    first = [grouper.group(sent) for sent in CLAIMS]
    for _ in range(3):
        assert dump([grouper.group(sent) for sent in CLAIMS]) == dump(first)


def test_order_and_instances_do_not_matter(grouper):
    expected = {index: dump(grouper.group(sent, ["YY01"])) for index, sent in enumerate(CLAIMS)}
    shuffled = list(expected)
    random.Random(7).shuffle(shuffled)
    other = Grouper()
    for index in shuffled:
        assert dump(other.group(CLAIMS[index], ["YY01"])) == expected[index]


def test_the_claim_is_not_changed(grouper):
    sent = claim(diagnosa="a09 # e87.1")
    before = dict(sent)
    answer = grouper.group(sent)
    assert sent == before
    assert answer["response"]["cbg"]["code"] == "K-4-17-II"  # codes are read in any spelling
