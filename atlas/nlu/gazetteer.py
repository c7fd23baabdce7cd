"""Known entity values found in a token sequence (longest match first)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .normalize import Token, fold, fold_word, tokenize


def value_key(text: str) -> tuple[str, ...]:
    """Folded word tokens: how a typed value is compared with declared ones."""
    return tuple(fold(text).split())


class Gazetteer:
    """Folded value token tuples -> canonical value, for one entity."""

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self.values: dict[tuple[str, ...], str] = {}
        self.max_len = 0
        # first word -> lengths of the values starting with it, longest first
        self._lengths: dict[str, list[int]] = {}
        for text, canonical in entries:
            self.add(text, canonical)

    def add(self, text: str, canonical: str) -> None:
        key = value_key(text)
        if key and key not in self.values:
            self.values[key] = canonical
            self.max_len = max(self.max_len, len(key))
            lengths = self._lengths.setdefault(key[0], [])
            if len(key) not in lengths:
                lengths.append(len(key))
                lengths.sort(reverse=True)

    def lookup(self, text: str) -> str | None:
        return self.values.get(value_key(text))

    def find(self, folded: Sequence[str]) -> list[tuple[int, int]]:
        """Token index spans [start, end) of known values, longest first, no overlaps.

        `folded` holds each token folded (accents off, lower case), "" for
        punctuation, which never starts nor ends a value.
        """
        words = [(k, w) for k, w in enumerate(folded) if w]  # punctuation skipped
        spans = []
        i, n = 0, len(words)
        while i < n:
            for length in self._lengths.get(words[i][1], ()):
                if i + length <= n and tuple(w for _, w in words[i : i + length]) in self.values:
                    spans.append((words[i][0], words[i + length - 1][0] + 1))
                    i += length - 1
                    break
            i += 1
        return spans


def folded_tokens(tokens: Sequence[Token]) -> list[str]:
    return [fold_word(t.norm) for t in tokens]


__all__ = ["Gazetteer", "folded_tokens", "tokenize", "value_key"]
