"""Remembered parses: a request heard before skips the interpreter's pipeline.

Only a parse that found no slot value is kept (a request not understood, or
understood without slots): slot values may depend on the clock ("tomorrow", "in
ten minutes"), while such a parse depends on the text, the scope and the model
alone. The cache belongs to one fitted model: a new
model is a new :class:`CachedParses` (the daemon wraps each interpreter it
trains), and ``fit`` empties it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from datetime import datetime

from .dataset import Dataset
from .interface import Interpreter
from .results import Parse, SlotValue

#: Distinct texts remembered per interpreter; a parse is a few hundred bytes.
DEFAULT_SIZE = 4096


class CachedParses:
    """An :class:`Interpreter` in front of another, with a bounded LRU of parses."""

    def __init__(self, inner: Interpreter, dataset: Dataset, size: int = DEFAULT_SIZE) -> None:
        self.inner = inner
        self.lang = inner.lang
        self.size = size
        self.hits = 0
        self.misses = 0
        self._parses: OrderedDict[tuple[str, frozenset[str] | None], Parse] = OrderedDict()

    @property
    def intents(self) -> list[str]:
        return self.inner.intents

    def fit(self, dataset: Dataset) -> None:
        self._parses.clear()
        self.inner.fit(dataset)

    def parse(self, text: str, scope: Collection[str] | None = None, *,
              now: datetime | None = None, strict: bool = False) -> Parse:
        if strict:
            return self.inner.parse(text, scope, now=now, strict=True)
        key = (text, None if scope is None else frozenset(scope))
        found = self._parses.get(key)
        if found is not None:
            self._parses.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        parsed = self.inner.parse(text, scope, now=now)
        if not parsed.slots:
            self._parses[key] = parsed
            if len(self._parses) > self.size:
                self._parses.popitem(last=False)
        return parsed

    def parse_slot(self, text: str, intent: str, slot: str, *,
                   now: datetime | None = None) -> list[SlotValue]:
        return self.inner.parse_slot(text, intent, slot, now=now)

