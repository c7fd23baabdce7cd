"""Spans of known entities in an utterance: declared values and built-ins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from . import entities as builtins
from .dataset import is_builtin
from .gazetteer import Gazetteer, folded_tokens
from .normalize import Token

EntitySpan = tuple[int, int, str]  # token start, token end (exclusive), entity name


class EntityMatcher:
    def __init__(self, lang: str, gazetteers: Mapping[str, Gazetteer]) -> None:
        self.lang = lang
        self.gazetteers = gazetteers

    def spans(
        self,
        text: str,
        tokens: Sequence[Token],
        entity_names: Iterable[str],
        now: datetime | None = None,
    ) -> list[EntitySpan]:
        folded = folded_tokens(tokens)
        found: list[EntitySpan] = []
        for name in entity_names:
            if is_builtin(name):
                for s in builtins.find_spans(text, tokens, name, self.lang, now):
                    found.append((s.start, s.end, name))
            elif (gaz := self.gazetteers.get(name)) is not None:
                found.extend((a, b, name) for a, b in gaz.find(folded))
        return found
