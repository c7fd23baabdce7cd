"""snips/number, snips/ordinal and snips/percentage, on top of text2num."""

from __future__ import annotations

import re
from functools import lru_cache

from text_to_num import alpha2digit

from ..normalize import strip_accents

_NUMBER_RE = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_ORDINAL_RE = re.compile(r"^(\d+)\s*(st|nd|rd|th|e|er|ere|re|eme|nd|nde|d|de|ieme|o)$")
_PERCENT_RE = re.compile(r"^(.+?)\s*(%|percent|per cent|pour cent|pourcent|pour 100|p100)$")

# Ordinals text2num leaves in words ("first", "premier"), or cannot read
# without accents ("deuxieme"); -1 is "last".
_EN_ORDINALS = "zeroth first second third fourth fifth sixth seventh eighth ninth tenth"
_FR_ORDINALS = (
    "zeroieme premier deuxieme troisieme quatrieme cinquieme sixieme septieme huitieme "
    "neuvieme dixieme"
)
_ORDINAL_WORDS = {
    "en": {w: i for i, w in enumerate(_EN_ORDINALS.split())} | {"last": -1},
    "fr": {w: i for i, w in enumerate(_FR_ORDINALS.split())}
    | {"premiere": 1, "second": 2, "seconde": 2, "dernier": -1, "derniere": -1},
}


# Every word these readers accept besides number words (see entities.find_spans).
WORDS = (set(_EN_ORDINALS.split()) | set(_FR_ORDINALS.split())
         | {"last", "premiere", "second", "seconde", "dernier", "derniere", "percent", "per",
            "cent", "pour", "pourcent", "p100", "st", "nd", "rd", "th", "e", "er", "ere", "re",
            "eme", "nde", "d", "de", "ieme", "o", "minus", "moins", "point", "virgule"})


@lru_cache(maxsize=4096)
def digitize(text: str, lang: str) -> str:
    """Number words to digits ("une heure et demie" -> "1 heure et demie")."""
    try:
        return str(alpha2digit(text, lang if lang in ("en", "fr") else "en", threshold=0))
    except Exception:  # text2num raises bare ValueErrors on odd input
        return text


def _as_number(s: str) -> float | int | None:
    if not _NUMBER_RE.match(s):
        return None
    value = float(s.replace(",", "."))
    return int(value) if value.is_integer() and "." not in s and "," not in s else value


@lru_cache(maxsize=4096)
def parse_number(text: str, lang: str) -> float | int | None:
    s = " ".join(digitize(text.strip().lower(), lang).split())
    s = re.sub(r"(?<=\d) (?=\d{3}\b)", "", s)  # "1 000" -> "1000"
    return _as_number(s)


def parse_ordinal(text: str, lang: str) -> int | None:
    words = _ORDINAL_WORDS.get(lang, _ORDINAL_WORDS["en"])
    plain = strip_accents(text.strip().lower())
    if plain in words:
        return words[plain]
    s = strip_accents(digitize(text.strip().lower(), lang))
    m = _ORDINAL_RE.match(s)
    return int(m.group(1)) if m else None


def parse_percentage(text: str, lang: str) -> float | None:
    m = _PERCENT_RE.match(text.strip().lower())
    if not m:
        return None
    number = parse_number(m.group(1), lang)
    return float(number) if number is not None else None
