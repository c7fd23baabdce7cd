"""The exact stage: utterances shaped like a training sentence, with slot values
that are known (declared values, synonyms, values seen in training, or a
built-in that resolves), are recognised with certainty before any model runs.

Templates are sequences of folded words and slot holes. Matching is a small
backtracking walk over the input words; candidates are found through an index
on each template's rarest word, so parsing does not scan every template.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .dataset import Dataset
from .gazetteer import value_key

Hole = tuple[str, str]  # slot name, entity
Item = str | Hole
# (slot, entity, start word, end word exclusive)
Match = tuple[str, list[tuple[str, str, int, int]]]
IsValue = Callable[[str, int, int], bool]  # entity, start word, end word


@dataclass(frozen=True)
class Template:
    intent: str
    items: tuple[Item, ...]
    literals: frozenset[str]


def _template(intent: str, chunks: Sequence) -> Template | None:
    items: list[Item] = []
    for chunk in chunks:
        if chunk.slot and chunk.entity:
            items.append((chunk.slot, chunk.entity))
        else:
            items.extend(value_key(chunk.text))
    if not items:
        return None
    literals = frozenset(i for i in items if isinstance(i, str))
    return Template(intent, tuple(items), literals)


class DeterministicMatcher:
    def __init__(self, dataset: Dataset, max_span: int = 8) -> None:
        templates = {
            t
            for intent, utterances in dataset.intents.items()
            for u in utterances
            if (t := _template(intent, u.chunks)) is not None
        }
        df = Counter(w for t in templates for w in t.literals)
        self.index: dict[str, list[Template]] = defaultdict(list)
        self.slot_only: list[Template] = []
        for t in sorted(templates, key=lambda t: (t.intent, str(t.items))):
            if t.literals:
                self.index[min(t.literals, key=lambda w: (df[w], w))].append(t)
            else:
                self.slot_only.append(t)
        self.max_span = max_span

    def match(self, words: Sequence[str], is_value: IsValue,
              scope: Collection[str] | None) -> Match | None:
        present = set(words)
        found: Match | None = None
        literal = -1  # the literal words of the template that gave `found`
        # In the words' order, not the set's: a set of strings iterates in an
        # order that changes with each process's hash seed.
        candidates = [t for w in dict.fromkeys(words) for t in self.index.get(w, ())]
        for t in candidates + self.slot_only:
            if scope is not None and t.intent not in scope:
                continue
            if not t.literals <= present or len(t.items) > len(words):
                continue
            slots = self._walk(t.items, words, 0, 0, is_value)
            if slots is None:
                continue
            if found is not None and found[0] != t.intent:
                return None  # two intents claim the sentence: let the models decide
            # Of one intent's templates, the most specific gives the slots
            # ("give this @[object_select]" over "give @[object_select]").
            words_of_t = len(t.items) - len(slots)
            if words_of_t > literal:
                found, literal = (t.intent, slots), words_of_t
        return found

    def _walk(self, items: Sequence[Item], words: Sequence[str], i: int, w: int,
              is_value: IsValue) -> list[tuple[str, str, int, int]] | None:
        if i == len(items):
            return [] if w == len(words) else None
        item = items[i]
        if isinstance(item, str):
            if w < len(words) and words[w] == item:
                return self._walk(items, words, i + 1, w + 1, is_value)
            return None
        slot, entity = item
        remaining = len(items) - i - 1
        for end in range(min(len(words) - remaining, w + self.max_span), w, -1):
            if not is_value(entity, w, end):
                continue
            rest = self._walk(items, words, i + 1, end, is_value)
            if rest is not None:
                return [(slot, entity, w, end), *rest]
        return None
