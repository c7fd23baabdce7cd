"""Text normalisation shared by every stage: tokens with offsets, folding, stems.

Every stage works on the same tokens so that spans found by one (the CRF, the
gazetteers, the built-in entity parsers) can be compared with another's and
mapped back to the raw text the user typed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer

# Words, numbers with a decimal part ("3.5", "3,5"), or single punctuation marks.
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)

_STEMMER_LANGS = {"en": "english", "fr": "french"}


class Token(NamedTuple):  # a tuple: tokenizing is on every parse's hot path
    text: str  # as typed
    start: int  # character offsets in the original text
    end: int
    norm: str  # lower case, accents kept (French needs them for stems)


@lru_cache(maxsize=50_000)
def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens with offsets; cached, as training and parsing meet the same texts often."""
    return tuple(
        Token(m.group(), m.start(), m.end(), m.group().lower()) for m in _TOKEN_RE.finditer(text)
    )


@lru_cache(maxsize=100_000)
def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation dropped, spaces collapsed.

    Used wherever we compare strings typed by different people (entity values,
    choices, cancel phrases), where "Prémière" and "premiere" must be equal.
    """
    return " ".join(w for w in _TOKEN_RE.findall(strip_accents(text).lower()) if w[0].isalnum())


@lru_cache(maxsize=100_000)
def fold_word(norm: str) -> str:
    """One token folded like fold(); "" for punctuation."""
    return strip_accents(norm) if norm[:1].isalnum() else ""


class Stemmer:
    """Snowball stemmer with a cache: a vocabulary is small, parses are many."""

    def __init__(self, lang: str) -> None:
        algo = _STEMMER_LANGS.get(lang)
        self._stemmer = snowballstemmer.stemmer(algo) if algo else None
        self.stem = lru_cache(maxsize=50_000)(self._stem)

    def _stem(self, word: str) -> str:
        if self._stemmer is None:
            return word
        return str(self._stemmer.stemWord(word))


@lru_cache(maxsize=8)
def stemmer_for(lang: str) -> Stemmer:
    return Stemmer(lang)


@lru_cache(maxsize=100_000)
def shape(word: str) -> str:
    """Coarse word shape, the CRF's clue for unseen names and numbers."""
    if word.isdigit():
        return "9"
    if any(c.isdigit() for c in word):
        return "9a"
    if not word[0].isalnum():
        return "."
    if word.isupper() and len(word) > 1:
        return "XX"
    if word[0].isupper():
        return "Xx"
    return "xx"
