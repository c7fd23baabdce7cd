"""Text normalisation shared by every stage: tokens with offsets, folding, stems.

Every stage works on the same tokens so that spans found by one (the CRF, the
gazetteers, the built-in entity parsers) can be compared with another's and
mapped back to the raw text the user typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import NamedTuple, TypeVar

import snowballstemmer

# Words, numbers with a decimal part ("3.5", "3,5"), or single punctuation marks.
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)

_STEMMER_LANGS = {"en": "english", "fr": "french"}


class Token(NamedTuple):  # a tuple: tokenizing is on every parse's hot path
    text: str  # as typed
    start: int  # character offsets in the original text
    end: int
    norm: str  # lower case, accents kept (French needs them for stems)


# Texts whose tokens parsing remembers. A daemon hears ever new sentences, at
# about 1.8 KiB of tokens each: this bounds that memory to about 3.6 MiB,
# while a request heard again (a button, "yes", a repeated command) is a hit.
RECENT_TEXTS = 2048
# While a model is fitted, in the fitting thread: every text's tokens, for the
# length of the fit (training tokenizes each sentence four or five times).
_fitting: ContextVar[dict[str, tuple[Token, ...]] | None] = ContextVar("fitting", default=None)


def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens with offsets; cached (see remembering_tokens)."""
    remembered = _fitting.get()
    if remembered is None:
        return _recent(text)
    tokens = remembered.get(text)
    if tokens is None:
        tokens = remembered[text] = _split(text)
    return tokens


def _split(text: str) -> tuple[Token, ...]:
    return tuple(
        Token(m.group(), m.start(), m.end(), m.group().lower()) for m in _TOKEN_RE.finditer(text)
    )


#: Entries of each per-word cache: above what the largest training (the Snips
#: benchmark's whole files, 12,000-32,000 distinct words per cache) uses, so
#: fitting finds everything cached.
WORDS = 40_000
_recent = lru_cache(maxsize=RECENT_TEXTS)(_split)

_Result = TypeVar("_Result")


def vocabulary_cache(compute: Callable[[str], _Result]) -> Callable[[str], _Result]:
    """`compute`, remembered for words but not for numbers.

    A language's words are a vocabulary that fills the cache once; numbers
    ("in 2345 days") are new forever, cheap to compute, and would only fill it
    with entries never asked again, holding memory a long-running daemon grows by.
    """
    remembered = lru_cache(maxsize=WORDS)(compute)

    def lookup(word: str) -> _Result:
        return compute(word) if word[:1].isdigit() else remembered(word)

    lookup.cache_info = remembered.cache_info  # type: ignore[attr-defined]
    return lookup


@contextmanager
def remembering_tokens() -> Iterator[None]:
    """Within it, in this thread (or task), tokenize remembers every text, and
    forgets them at the end: fitting meets each training sentence several
    times, while parsing in other threads keeps its small bound."""
    reset = _fitting.set({})
    try:
        yield
    finally:
        _fitting.reset(reset)


def strip_accents(text: str) -> str:
    # Most texts are plain ASCII, whole sentences among them: nothing to do, and
    # nothing worth remembering.
    return text if text.isascii() else _strip_accents(text)


@lru_cache(maxsize=WORDS)
def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation dropped, spaces collapsed.

    Used wherever we compare strings typed by different people (entity values,
    choices, cancel phrases), where "Prémière" and "premiere" must be equal.
    """
    return " ".join(w for w in _TOKEN_RE.findall(strip_accents(text).lower()) if w[0].isalnum())


@vocabulary_cache
def fold_word(norm: str) -> str:
    """One token folded like fold(); "" for punctuation."""
    return strip_accents(norm) if norm[:1].isalnum() else ""


class Stemmer:
    """Snowball stemmer with a cache: a vocabulary is small, parses are many."""

    def __init__(self, lang: str) -> None:
        algo = _STEMMER_LANGS.get(lang)
        self._stemmer = snowballstemmer.stemmer(algo) if algo else None
        self.stem = vocabulary_cache(self._stem)

    def _stem(self, word: str) -> str:
        if self._stemmer is None:
            return word
        return str(self._stemmer.stemWord(word))


@lru_cache(maxsize=8)
def stemmer_for(lang: str) -> Stemmer:
    return Stemmer(lang)


@vocabulary_cache
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
