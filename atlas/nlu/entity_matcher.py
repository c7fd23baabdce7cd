"""Spans of known entities in an utterance: declared values and built-ins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from . import entities as builtins
from .dataset import is_builtin
from .entities import places
from .gazetteer import Gazetteer, folded_tokens
from .normalize import Token

EntitySpan = tuple[int, int, str]  # token start, token end (exclusive), entity name


class EntityMatcher:
    """All gazetteers in one index, so that a sentence is scanned once.

    For each entity the result is what a left-to-right, longest-first scan of
    that entity's values alone gives: spans of one entity never overlap, spans
    of different entities may.
    """

    def __init__(self, lang: str, gazetteers: Mapping[str, Gazetteer],
                 wording: Iterable[str] = ()) -> None:
        self.lang = lang
        # The skills' own words outside slots: a place name made only of them
        # ("Mobile", "Reading", "Of") is wording, not a place, in these skills.
        self.wording = frozenset(wording)
        self._entities: dict[tuple[str, ...], list[str]] = {}
        lengths: dict[str, set[int]] = {}
        for name, gaz in gazetteers.items():
            if is_builtin(name):
                continue  # built-ins are found by their resolvers
            for key in gaz.values:
                self._entities.setdefault(key, []).append(name)
                lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {w: sorted(ls, reverse=True) for w, ls in lengths.items()}

    def spans(
        self,
        text: str,
        tokens: Sequence[Token],
        entity_names: Iterable[str],
        now: datetime | None = None,
    ) -> list[EntitySpan]:
        wanted = set(entity_names)
        found: list[EntitySpan] = []
        folded = folded_tokens(tokens)
        where = [k for k, w in enumerate(folded) if w]  # punctuation is skipped
        words = [folded[k] for k in where]
        next_free: dict[str, int] = {}
        n = len(words)
        for i in range(n):
            for length in self._lengths.get(words[i], ()):
                if i + length > n:
                    continue
                for name in self._entities.get(tuple(words[i : i + length]), ()):
                    if name in wanted and next_free.get(name, 0) <= i:
                        found.append((where[i], where[i + length - 1] + 1, name))
                        next_free[name] = i + length
        if kinds := wanted.intersection(places.KINDS):  # one pass for all kinds
            found.extend((p.start, p.end, p.entity)
                         for p in places.places(self.lang).find(text, tokens, kinds, self.wording))
        for name in sorted(wanted - set(places.KINDS)):
            if is_builtin(name):
                for s in builtins.find_spans(text, tokens, name, self.lang, now):
                    found.append((s.start, s.end, name))
        return found
