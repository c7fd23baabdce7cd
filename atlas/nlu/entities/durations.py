"""snips/duration: "10 minutes", "1h30", "an hour and a half", "une demi-heure".

A small state machine over tokens: numbers (or an article meaning one) wait
for a unit; "half"/"quart" either scale the pending number or add a fraction of
the last unit ("and a half"); a bare trailing number takes the next smaller
unit ("1h30", "2 hours 15").
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..normalize import strip_accents
from .numbers import digitize

_UNITS: dict[str, float] = {
    **dict.fromkeys(["s", "sec", "secs", "second", "seconds", "seconde", "secondes"], 1),
    **dict.fromkeys(["m", "mn", "min", "mins", "minute", "minutes"], 60),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours", "heure", "heures"], 3600),
    **dict.fromkeys(["day", "days", "jour", "jours", "journee"], 86400),
    **dict.fromkeys(["week", "weeks", "semaine", "semaines"], 604800),
}
_SMALLER: dict[float, float] = {3600: 60, 60: 1, 86400: 3600, 604800: 86400}
_ARTICLES = {"a", "an", "one", "un", "une"}
_FRACTIONS = {"half": 0.5, "demi": 0.5, "demie": 0.5, "quarter": 0.25, "quart": 0.25}
_FILLERS = {"and", "et", "of", "d", "de", "'", "-", ",", "an", "a"}
_PREFIXES = {"in", "for", "during", "dans", "pendant", "durant", "pour", "within", "after", "apres"}
_FRENCH_WORDS = (_ARTICLES - {"a", "an"}, _FILLERS - {"a", "an"})
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+|'|-|,")

TRIGGERS = set(_UNITS) | set(_FRACTIONS) | _ARTICLES
WORDS = TRIGGERS | _FILLERS | _PREFIXES  # every word this reader accepts, numbers aside


_ARTICLE_FRACTION_RE = re.compile(r"\b(?:an?|une?) (?=half|demi|quart)")
_SECOND_RE = re.compile(r"\bsecond\b")


@lru_cache(maxsize=4096)
def parse_duration(text: str, lang: str) -> float | None:
    # "une demi-heure": the article belongs to the fraction, and text2num would
    # otherwise read it as a separate 1.
    text = _ARTICLE_FRACTION_RE.sub("", strip_accents(text.lower()))
    # text2num reads the unit "second" as the ordinal ("1 second" -> "1 2nd").
    text = _SECOND_RE.sub("seconds", text)
    tokens = _TOKEN_RE.findall(strip_accents(digitize(text, lang)))
    if tokens and tokens[0] in _PREFIXES:
        tokens = tokens[1:]
    # In French, "a" is "à" with its accent gone, or "has": never an article
    # ("à 7 heures" is a time of day, not seven hours).
    articles, fillers = (_ARTICLES, _FILLERS) if lang != "fr" else _FRENCH_WORDS
    total = 0.0
    pending: float | None = None
    from_article = False
    last_unit: float | None = None
    for tok in tokens:
        if tok[0].isdigit():
            if pending is not None and not from_article:
                return None
            pending, from_article = float(tok.replace(",", ".")), False
        elif tok in _UNITS:
            if pending is None:
                return None
            total += pending * _UNITS[tok]
            last_unit, pending, from_article = _UNITS[tok], None, False
        elif tok in _FRACTIONS:
            fraction = _FRACTIONS[tok]
            if last_unit and (pending is None or from_article):
                total += last_unit * fraction  # "an hour and a half"
                pending, from_article = None, False
            elif pending is not None and not from_article:
                pending += fraction  # "two and a half hours"
            else:
                pending, from_article = fraction, False  # "half an hour"
        elif tok in articles and pending is None:
            pending, from_article = 1.0, True
        elif tok not in fillers:
            return None
    if pending is not None:
        if from_article or last_unit not in _SMALLER:
            return None
        total += pending * _SMALLER[last_unit]
    if last_unit is None:
        return None
    return int(total) if float(total).is_integer() else total
