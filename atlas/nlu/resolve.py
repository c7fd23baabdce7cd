"""Entity resolution: from a raw span to the value given to the skill.

Custom entities: synonyms map to their canonical value, rapidfuzz catches near
misses against declared values, and a non-extensible entity refuses anything
else. Built-ins go through their resolvers; an unresolvable built-in is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process

from . import entities as builtins
from .dataset import Entity, is_builtin
from .gazetteer import Gazetteer, value_key

_NO_VALUE = object()


class EntityResolver:
    def __init__(self, entity: Entity, gazetteer: Gazetteer) -> None:
        self.extensible = entity.extensible
        # Only declared values and synonyms may be fuzzy-matched: values merely
        # seen in training sentences are known spellings, not a closed list.
        self.declared = Gazetteer()
        for v in entity.values:
            self.declared.add(v.value, v.value)
            for s in v.synonyms:
                self.declared.add(s, v.value)
        self.gazetteer = gazetteer
        self.cutoff = max(75.0, 100.0 * entity.strictness - 15.0)
        self._choices = [" ".join(k) for k in self.declared.values]
        self._canonical = list(self.declared.values.values())

    def declared_value(self, raw: str) -> str | None:
        """The declared value `raw` names, exactly, by synonym or by a near miss."""
        exact = self.declared.lookup(raw)
        if exact is not None:
            return exact
        key = " ".join(value_key(raw))
        if self._choices and key:
            best = process.extractOne(key, self._choices, scorer=fuzz.ratio,
                                      score_cutoff=self.cutoff)
            if best is not None:
                return self._canonical[best[2]]
        return None

    def resolve(self, raw: str) -> Any:
        value = self.declared_value(raw)
        if value is not None:
            return value
        if self.extensible:
            return raw
        return _NO_VALUE


def resolve_value(
    entity: str,
    raw: str,
    lang: str,
    resolvers: Mapping[str, EntityResolver],
    now: datetime | None,
) -> tuple[bool, Any]:
    """(accepted, value) for a raw span of `entity`."""
    if is_builtin(entity):
        value = builtins.resolve(entity, raw, lang, now)
        if value is None and not builtins.is_supported(entity):
            return True, raw  # a Snips built-in we do not resolve: pass the text on
        return value is not None, value
    resolver = resolvers.get(entity)
    if resolver is None:
        return True, raw
    value = resolver.resolve(raw)
    return value is not _NO_VALUE, value
