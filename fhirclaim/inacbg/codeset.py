"""Code sets as the grouper tables write them: "A40-A41|A02.1|R57.1", "81.51-81.55|00.7", "*".

One notation serves ICD-10 and ICD-9-CM. Each `|`-separated item is either a prefix ("A41" matches A41 and every
A41.x; "81.5" matches 81.50-81.59) or a range of prefixes of one length ("A39.1-A39.4", "01-86"): a code matches a
range when its first characters (dot removed) fall between the two ends. "*" matches any code.

Tables overlap on purpose (a chapter-wide row, then narrower exceptions), so a match carries its specificity:
longer prefixes beat shorter ones, and at equal length a single prefix beats a range, a narrow range a wide one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")
Specificity = tuple[int, int]

_ANY: Specificity = (-1, 0)  # weaker than every real pattern


def bare(code: str) -> str:
    """The comparison key of a code: upper case, no dot, no whitespace."""
    return "".join(code.split()).replace(".", "").upper()


@dataclass(frozen=True)
class _Pattern:
    low: str
    high: str

    @classmethod
    def parse(cls, item: str) -> _Pattern:
        low, _, high = item.partition("-")
        low, high = bare(low), bare(high or low)
        if not low or len(low) != len(high) or low > high:
            raise ValueError(f"bad code pattern {item!r}")
        return cls(low, high)

    def specificity(self, key: str) -> Specificity | None:
        head = key[: len(self.low)]
        if len(head) < len(self.low) or not self.low <= head <= self.high:
            return None
        return (len(self.low), -(int(self.high, 36) - int(self.low, 36)))


@dataclass(frozen=True)
class CodeSet:
    """A parsed code-set cell; empty cells match nothing."""

    patterns: tuple[_Pattern, ...]
    any_code: bool = False

    @classmethod
    def parse(cls, cell: str) -> CodeSet:
        items = [item.strip() for item in cell.split("|") if item.strip()]
        if items == ["*"]:
            return cls((), any_code=True)
        return cls(tuple(_Pattern.parse(item) for item in items))

    def __bool__(self) -> bool:
        return self.any_code or bool(self.patterns)

    def specificity(self, code: str) -> Specificity | None:
        """How closely the set names `code` (None when it does not contain it)."""
        key = bare(code)
        if self.any_code:
            return _ANY if key else None
        found = [hit for pattern in self.patterns if (hit := pattern.specificity(key)) is not None]
        return max(found, default=None)

    def __contains__(self, code: str) -> bool:
        return self.specificity(code) is not None

    def contains_any(self, codes: Iterable[str]) -> bool:
        return any(code in self for code in codes)


class CodeMap(Generic[Value]):
    """Rows of (code set, value): the value of the most specific row containing a code; first row wins ties.

    Answers are memoised per code, since a grouper asks about the same few thousand codes again and again.
    """

    def __init__(self, rows: Iterable[tuple[CodeSet, Value]]):
        self._rows = list(rows)
        self._memo: dict[str, Value | None] = {}

    def get(self, code: str) -> Value | None:
        if code not in self._memo:
            self._memo[code] = self._lookup(code)
        return self._memo[code]

    def _lookup(self, code: str) -> Value | None:
        best: tuple[Specificity, int] | None = None
        for index, (codes, _) in enumerate(self._rows):
            hit = codes.specificity(code)
            if hit is not None and (best is None or hit > best[0]):
                best = (hit, index)
        return None if best is None else self._rows[best[1]][1]
