"""`reference.parse`: the local target of a reference. The usual `Type/id` is matched first, in one expression
(issue 17); every other form is answered as before."""

from __future__ import annotations

import pytest

from fhirclaim.fhir.indexing.reference import parse


@pytest.mark.parametrize(("reference", "target"), [
    ("Patient/p0", ("Patient", "p0")),
    ("Patient/p0/_history/2", ("Patient", "p0")),
    ("Patient/x\n", ("Patient", "x")),  # `$` before a final newline, as the general expression has always allowed
    ("Patient/" + "a" * 64, ("Patient", "a" * 64)),
    ("Patient/" + "a" * 65, None),
    ("a/Patient/x", ("Patient", "x")),  # a relative path's last `Type/id`
    ("Patient/p0/extra", None),
    ("Patient/p0/_history/", None),
    ("P/x", None),
    ("patient/p0", None),
    ("Patient/x:y", None),
    ("#contained", None),
    ("urn:uuid:1234", None),
    ("http://other.example/fhir/Patient/1", None),  # another server's
    ("", None),
    (None, None),
    (7, None),
])
def test_the_local_target_of_a_reference(reference, target):
    assert parse(reference) == target
