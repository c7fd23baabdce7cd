"""Typing slips: a word one edit away from the skills' own words is read as that word.

People type fast: "waht time is it", "set a timr", "swich off the light". The
classifier's character n-grams absorb some of it, but a slipped word is also
foreign to the vocabulary check and unknown to the slot filler. So before
parsing, a word that the training data does not contain is replaced by the
training word at one edit (insertion, deletion, substitution or swap of two
neighbours; two edits for words of eight letters or more), the most frequent
one when several are that close.

What is never touched: words the training data knows, function words, words of
one or two letters, words with digits, capitalised words after the first (names,
titles), place names, and words whose first letter differs from the candidate's
in words under six letters (slips rarely hit the first letter, and short words
have many neighbours).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .normalize import Token, fold_word, tokenize

MIN_LENGTH = 3
LONG_WORD = 8  # from this length, two edits
FREE_FIRST_LETTER = 6  # from this length, the first letter may be the slip


class Speller:
    def __init__(self, words: Counter[str], known: Iterable[str] = ()) -> None:
        """`words`: folded training words and their frequency; `known`: words
        never to correct (function words, entity values)."""
        self.words = words
        self.known = frozenset(known) | frozenset(words)
        self._vocabulary = sorted(w for w in words if len(w) >= MIN_LENGTH - 1)

    def correct(self, word: str) -> str | None:
        """The training word `word` was meant to be, or None."""
        if len(word) < MIN_LENGTH or word in self.known or not word.isalpha():
            return None
        limit = 2 if len(word) >= LONG_WORD else 1
        best: tuple[int, int, str] | None = None
        for candidate, distance, _ in process.extract(
                word, self._vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=None):
            if len(word) < FREE_FIRST_LETTER and candidate[0] != word[0]:
                continue
            rank = (int(distance), -self.words[candidate], candidate)
            if best is None or rank < best:
                best = rank
        return best[2] if best else None

    def fix(self, text: str, tokens: Sequence[Token],
            is_name: Callable[[str], bool] = lambda word: False
            ) -> tuple[str, tuple[Token, ...]] | None:
        """`text` with its slipped words replaced, and its tokens (as many, in
        the same order); None when nothing changed."""
        pieces: list[str] = []
        position = 0
        changed = False
        for i, token in enumerate(tokens):
            word = fold_word(token.norm)
            if not word or (i and token.text[:1].isupper()) or is_name(word):
                continue
            fixed = self.correct(word)
            if fixed is None:
                continue
            pieces.append(text[position:token.start])
            pieces.append(fixed)
            position = token.end
            changed = True
        if not changed:
            return None
        fixed_text = "".join(pieces) + text[position:]
        fixed_tokens = tokenize(fixed_text)
        if len(fixed_tokens) != len(tokens):  # never expected: corrections are words
            return None
        return fixed_text, fixed_tokens
