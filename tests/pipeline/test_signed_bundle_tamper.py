"""A signed claim Bundle as the pipeline stores it: a one-byte change anywhere in any entry, or entries moved,
dropped or added, and the signature no longer verifies — with this project's verifier and an independent one."""

from __future__ import annotations

import copy

import pytest
from pipeline_kit import (
    get_at,
    leaf_paths,
    load_case,
    one_byte_changed,
    post_transaction,
    run_jobs,
    set_at,
    signed_bundle,
    verify_independently,
)

from fhirclaim.signing import verify_bundle

DOES_NOT_MATCH = "signature does not match content"


@pytest.fixture
def signed(runtime) -> dict:
    case = load_case("02-hip-replacement-special-cmg")
    post_transaction(runtime, case.transaction)
    run_jobs(runtime)
    bundle = signed_bundle(runtime, case.claim_id)
    assert verify_bundle(bundle, trust=runtime.signing.trust_policy()).valid
    return bundle


def _rejected(bundle: dict) -> bool:
    result = verify_bundle(bundle, integrity_only=True)  # the content; trust and identity: tests/signing
    try:
        verify_independently(bundle)
    except Exception:  # any refusal of the independent implementation counts
        independent = False
    else:
        independent = True
    return (result.valid, result.reason, independent) == (False, DOES_NOT_MATCH, False)


def test_a_one_byte_change_in_any_entry_breaks_the_signature(signed):
    checked = 0
    for index, entry in enumerate(signed["entry"]):
        for path in leaf_paths(entry):
            if path[:2] == ("resource", "meta"):
                continue  # meta of the carried resources is signed too, but checked once below
            original = get_at(entry, path)
            set_at(entry, path, one_byte_changed(original))
            assert _rejected(signed), (index, path)
            set_at(entry, path, original)
            checked += 1
        assert verify_bundle(signed).integrity  # put back: valid again
    assert checked > 400
    set_at(signed, ("entry", 0, "resource", "meta", "versionId"), "2")
    assert _rejected(signed)


@pytest.mark.parametrize("change", ["swap two entries", "drop the last entry", "add an entry", "change the SEP",
                                    "change the timestamp"])
def test_entries_moved_dropped_or_added_break_the_signature(signed, change):
    tampered = copy.deepcopy(signed)
    entries = tampered["entry"]
    if change == "swap two entries":
        entries[1], entries[2] = entries[2], entries[1]
    elif change == "drop the last entry":
        entries.pop()
    elif change == "add an entry":
        entries.append(copy.deepcopy(entries[1]))
    elif change == "change the SEP":
        tampered["identifier"]["value"] = one_byte_changed(tampered["identifier"]["value"])
    else:
        tampered["timestamp"] = one_byte_changed(tampered["timestamp"])
    assert _rejected(tampered)


def test_a_new_id_and_meta_keep_it_valid(signed):
    moved = copy.deepcopy(signed)
    moved["id"] = "stored-at-bpjs"
    moved["meta"] = {"versionId": "1", "lastUpdated": "2027-01-01T00:00:00Z"}
    assert verify_bundle(moved).integrity
    verify_independently(moved)
