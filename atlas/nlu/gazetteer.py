"""Known values of one entity, compared as folded word tuples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .normalize import Token, fold, fold_word


def value_key(text: str) -> tuple[str, ...]:
    """Folded words: how a typed value is compared with declared ones."""
    return tuple(fold(text).split())


class Gazetteer:
    """Folded value word tuples -> canonical value, for one entity."""

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self.values: dict[tuple[str, ...], str] = {}
        for text, canonical in entries:
            self.add(text, canonical)

    def add(self, text: str, canonical: str) -> None:
        key = value_key(text)
        if key and key not in self.values:
            self.values[key] = canonical

    def lookup(self, text: str) -> str | None:
        return self.values.get(value_key(text))


def folded_tokens(tokens: Sequence[Token]) -> list[str]:
    """Each token folded (accents off, lower case); "" for punctuation."""
    return [fold_word(t.norm) for t in tokens]
