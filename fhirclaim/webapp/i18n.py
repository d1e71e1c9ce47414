"""The web app's two languages: Bahasa Indonesia by default, English as a choice (`data/strings.json`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("id", "en")
DEFAULT = "id"


@cache
def strings() -> dict[str, dict[str, str]]:
    text = resources.files("fhirclaim.webapp").joinpath("data/strings.json").read_text(encoding="utf-8")
    return {lang: words for lang, words in json.loads(text).items() if lang in LANGUAGES}


def translate(lang: str, key: str, **values: object) -> str:
    """The words of `key` in `lang` (else Indonesian, else the key itself), with `{name}` values filled in."""
    words = strings().get(lang, {}).get(key) or strings()[DEFAULT].get(key) or key
    return words.format(**values) if values else words


def rupiah(value: object) -> str:
    """Rp 1.234.567 (Indonesian grouping with dots), or a dash."""
    if value is None:
        return "—"
    amount = int(round(float(value)))
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")
