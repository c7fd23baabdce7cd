"""Built-in entities (snips/...): full-span resolvers and a span finder.

Each resolver takes the text of a span and returns its value or None; the
finder looks for the longest spans a resolver accepts, starting only at tokens
that can begin one (digits or words from the resolvers' tables), so that
parsing stays cheap on utterances that contain none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..normalize import Token, strip_accents
from . import datetimes, durations, numbers, places
from .datetimes import parse_datetime
from .durations import parse_duration
from .numbers import digitize, parse_number, parse_ordinal, parse_percentage
from .span import Span

Resolver = Callable[[str, str, datetime | None], Any]

RESOLVERS: dict[str, Resolver] = {
    "snips/number": lambda text, lang, now: parse_number(text, lang),
    "snips/ordinal": lambda text, lang, now: parse_ordinal(text, lang),
    "snips/percentage": lambda text, lang, now: parse_percentage(text, lang),
    "snips/duration": lambda text, lang, now: parse_duration(text, lang),
    "snips/datetime": parse_datetime,
    places.CITY: lambda text, lang, now: places.places(lang).lookup(places.CITY, text),
    places.COUNTRY: lambda text, lang, now: places.places(lang).lookup(places.COUNTRY, text),
    places.REGION: lambda text, lang, now: places.places(lang).lookup(places.REGION, text),
    # Snips NLU aliases some skills use
    "snips/amountOfMoney": lambda text, lang, now: parse_number(text, lang),
    "snips/temperature": lambda text, lang, now: parse_number(text, lang),
}

_NUMBER_WORDS = {
    "en": "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand million a an first second third fourth fifth "
    "sixth seventh eighth ninth tenth half quarter minus",
    "fr": "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize "
    "quatorze quinze seize vingt trente quarante cinquante soixante cent mille million "
    "premier premiere deuxieme troisieme quatrieme cinquieme second seconde demi demie "
    "quart",
}
_TRIGGERS = {lang: set(words.split()) for lang, words in _NUMBER_WORDS.items()}
_ENTITY_TRIGGERS = {
    "snips/duration": durations.TRIGGERS | {"in", "for", "dans", "pendant"},
    "snips/datetime": datetimes.TRIGGERS,
}
MAX_SPAN = 8  # tokens; longer built-in mentions are not something people say


def builtin_words(lang: str) -> frozenset[str]:
    """Words the built-in readers know (numbers, units, days), folded: words
    a skill's examples may not contain but users will type."""
    words = _TRIGGERS.get(lang, _TRIGGERS["en"]) | durations.TRIGGERS | datetimes.TRIGGERS
    return frozenset(strip_accents(w) for w in words if w.isalpha())


def is_supported(entity: str) -> bool:
    return entity in RESOLVERS


def resolve(entity: str, text: str, lang: str, now: datetime | None = None) -> Any:
    resolver = RESOLVERS.get(entity)
    return resolver(text, lang, now) if resolver else None


def _can_start(token: Token, entity: str, lang: str) -> bool:
    word = strip_accents(token.norm)
    if word[0].isdigit():
        return True
    return word in _TRIGGERS.get(lang, _TRIGGERS["en"]) or word in _ENTITY_TRIGGERS.get(
        entity, ()
    )


_SPAN_WORDS = numbers.WORDS | durations.WORDS | datetimes.WORDS


def _may_continue(word: str, lang: str) -> bool:
    """Whether a folded token can be inside a built-in value: digits, marks,
    the readers' words and number words. A span never goes past one that
    cannot, which spares most of the longest-first attempts."""
    # Numbers and marks, first: they are not worth a place in the cache.
    return not word[:1].isalpha() or _may_continue_word(word, lang)


@lru_cache(maxsize=40_000)
def _may_continue_word(word: str, lang: str) -> bool:
    return (word in _SPAN_WORDS or word in _TRIGGERS.get(lang, _TRIGGERS["en"])
            or digitize(word, lang) != word)


def find_spans(
    text: str, tokens: Sequence[Token], entity: str, lang: str, now: datetime | None = None
) -> list[Span]:
    """Longest non-overlapping spans of `entity`, left to right."""
    if entity in places.KINDS:
        return places.places(lang).find(text, tokens, [entity])
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        if not _can_start(tokens[i], entity, lang):
            i += 1
            continue
        end = i + 1
        while end < min(len(tokens), i + MAX_SPAN) and _may_continue(
                strip_accents(tokens[end].norm), lang):
            end += 1
        for j in range(end, i, -1):
            value = resolve(entity, text[tokens[i].start : tokens[j - 1].end], lang, now)
            if value is not None:
                # Trailing filler words that change nothing ("à 9h d'") are not part of it.
                while j - 1 > i and strip_accents(tokens[j - 1].norm) in datetimes.FILLERS \
                        and resolve(entity, text[tokens[i].start : tokens[j - 2].end],
                                    lang, now) == value:
                    j -= 1
                spans.append(Span(i, j, entity, value))
                i = j
                break
        else:
            i += 1
    return spans


__all__ = ["RESOLVERS", "Span", "builtin_words", "find_spans", "is_supported", "resolve"]
