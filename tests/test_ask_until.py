"""`clock.ask_until`: the one loop that asks again until a deadline (another process's lock, a job another process
holds)."""

from __future__ import annotations

import time

from fhirclaim.clock import ask_until


def test_it_asks_until_answered():
    answers = iter([False, False, True])
    asked = []

    def answered() -> bool:
        asked.append(1)
        return next(answers)

    assert ask_until(answered, time.monotonic() + 60, 0) is True
    assert len(asked) == 3


def test_a_deadline_passed_ends_it_after_one_ask_without_a_wait():
    asked = []
    assert ask_until(lambda: asked.append(1) or False, time.monotonic() - 1, 3600) is False
    assert asked == [1]  # an interval of an hour was not slept: the deadline had passed


def test_an_answer_at_the_first_ask_needs_no_deadline_left():
    assert ask_until(lambda: True, time.monotonic() - 1, 3600) is True
