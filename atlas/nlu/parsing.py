"""Parsing: a model and a text in, a Parse out; reads the model, changes nothing.

parse = slips corrected, then the exact template stage, else the intent
classifier (with a None class and a threshold), the intent's CRF, entity
resolution and the vocabulary check (coverage.py). parse_slot reads an answer
to a question as a value of one slot's entity.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .coverage import Said
from .dataset import is_builtin
from .entities import places
from .entity_matcher import EntitySpan
from .model import CRF_BUILTINS, Model
from .noise import NONE_LABEL
from .normalize import Token, fold_word, tokenize
from .resolve import resolve_value
from .results import Parse, SlotValue

RERANK = 2  # intents tried against the vocabulary check, likeliest first


@dataclass(frozen=True)
class Typed:
    """An utterance as the user typed it."""

    text: str
    tokens: tuple[Token, ...]


def parse(model: Model, text: str, scope: Collection[str] | None = None, *,
          now: datetime | None = None, strict: bool = False) -> Parse:
    """``strict``: for a context with a fallback of its own, which takes what its
    intents do not cover, the vocabulary test applies to every intent."""
    typed = Typed(text, tokenize(text))
    if not any(fold_word(t.norm) for t in typed.tokens):
        return Parse(text, None, 1.0, {})
    # Parsing reads the text with its slips corrected; slots keep what was typed.
    text, tokens = _corrected(model, typed.text, typed.tokens) or (typed.text, typed.tokens)
    exact = _parse_exact(model, text, tokens, scope, now, typed)
    if exact is not None:
        return exact
    ranked, none = _ranked(model, text, scope)
    if not ranked:
        return Parse(typed.text, None, none, {})
    coverage = model.coverage
    if strict:
        intent, confidence = ranked[0]
        slots, said = _said(model, text, tokens, intent, now, typed)
        if coverage.strange_to(intent, said):
            return Parse(typed.text, None, 1.0 - confidence, {})
        return Parse(typed.text, intent, confidence, slots)
    if not coverage.checks(ranked[0][0]):
        intent, confidence = ranked[0]
        return Parse(typed.text, intent, confidence,
                     _fill(model, text, tokens, intent, now, typed)[0])
    # Whatever the scope (the root intents, a context's), the intent must
    # cover what was said (see coverage.py): of the likeliest intents, the
    # one whose vocabulary covers it best.
    best: tuple[float, str, float, dict[str, list[SlotValue]]] | None = None
    for intent, confidence in ranked[:RERANK]:
        if not coverage.checks(intent):
            continue  # a runner-up never checked must not take what the first may not
        slots, said = _said(model, text, tokens, intent, now, typed)
        margin = coverage.margin(intent, said, scope, confidence)
        if margin is not None and (best is None or margin > best[0]):
            best = (margin, intent, confidence, slots)
    if best is None:
        return Parse(typed.text, None, 1.0 - ranked[0][1], {})
    return Parse(typed.text, best[1], best[2], best[3])


def parse_slot(model: Model, text: str, intent: str, slot: str, *,
               now: datetime | None = None) -> list[SlotValue]:
    entity = model.slot_entities.get(intent, {}).get(slot)
    answer = text.strip()
    if entity is None or not answer:
        return []
    resolver = model.resolvers.get(entity)
    found = _value_in(model, answer, entity, now)
    if not found and is_builtin(entity):
        # "10 minuts": a built-in read from the corrected words, the raw as typed
        fixed = _corrected(model, answer, tokenize(answer))
        if fixed is not None:
            found = [SlotValue(v.value, answer, entity)
                     for v in _value_in(model, fixed[0], entity, now)]
    if not found and resolver is not None and resolver.extensible:
        return [SlotValue(answer, answer, entity)]
    return found


def _said(model: Model, text: str, tokens: Sequence[Token], intent: str, now: datetime | None,
          typed: Typed) -> tuple[dict[str, list[SlotValue]], list[Said]]:
    """The slots, and what was said for the vocabulary check, in order."""
    slots, covered, values = _fill(model, text, tokens, intent, now, typed, judged=True)
    said: dict[int, Said] = {start: Said(value=known) for start, known in values.items()}
    for k, t in enumerate(tokens):
        if k not in covered and (w := fold_word(t.norm)):
            said[k] = Said(w, t.norm != typed.tokens[k].norm)
    return slots, [said[k] for k in sorted(said)]


def _corrected(model: Model, text: str, tokens: Sequence[Token]
               ) -> tuple[str, tuple[Token, ...]] | None:
    """The text and tokens with typing slips corrected; None if none."""
    if model.speller is None:
        return None
    return model.speller.fix(text, tokens, places.places(model.lang).is_well_known)


def _ranked(model: Model, text: str, scope: Collection[str] | None
            ) -> tuple[list[tuple[str, float]], float]:
    """The intents the classifier accepts, likeliest first, and the None
    class's probability (renormalised over the scope)."""
    probs = model.classifier.probabilities(text)
    candidates = [i for i in model.intents if scope is None or i in scope]
    if not candidates:
        return [], 1.0
    none = probs.get(NONE_LABEL, 0.0)
    total = 1.0
    if scope is not None:  # renormalise over what the context allows
        total = none + sum(probs.get(i, 0.0) for i in candidates)
        if not total:
            return [], 1.0
        none /= total
    ranked = sorted(((i, probs.get(i, 0.0) / total) for i in candidates),
                    key=lambda pair: -pair[1])
    threshold = model.options.threshold
    return [(i, p) for i, p in ranked if p >= threshold and p > none], none


def _fill(model: Model, text: str, tokens: Sequence[Token], intent: str,
          now: datetime | None, typed: Typed | None = None, *, judged: bool = False
          ) -> tuple[dict[str, list[SlotValue]], set[int], dict[int, bool]]:
    """The slots; the tokens inside known entity values and, when
    `judged` (for the vocabulary check), inside slots; and where each slot
    starts, with whether its value is a known one. `typed` is the text as
    typed when `text` has slips corrected."""
    filler = model.fillers.get(intent)
    entities = model.slot_entities[intent]
    names = sorted(set(entities.values()) | CRF_BUILTINS)
    spans: list[EntitySpan] = model.matcher.spans(text, tokens, names, now)
    # Values cover words for the vocabulary check. Place names are
    # everywhere ("Cook", "Rice" and "Mobile" are towns): they cover words
    # only where the intent takes places; a number the intent has no slot
    # for ("wake me up at 7") is left to count as foreign.
    own = set(entities.values())
    covered = {k for start, end, name in spans for k in range(start, end)
               if name in own or (name not in places.KINDS
                                  and not tokens[k].norm[:1].isdigit())}
    slots: dict[str, list[SlotValue]] = {}
    values: dict[int, bool] = {}
    if filler is None:
        return slots, covered, values
    for slot, start, end in filler.tag(tokens, spans):
        entity = entities.get(slot)
        if entity is None:
            continue
        ok, value, raw = _resolve(model, entity, text, tokens, start, end, now, typed)
        if not ok:
            continue
        known = judged and _is_known(model, entity, raw, start, end, spans, covered)
        if judged and not known and not is_builtin(entity):
            # "the bathroom please" tagged whole: the known value inside it
            a, b = _trimmed(model, tokens, start, end)
            if (a, b) != (start, end):
                ok, inner, inner_raw = _resolve(model, entity, text, tokens, a, b, now, typed)
                if ok and _is_known(model, entity, inner_raw, a, b, spans, covered):
                    start, end, value, raw, known = a, b, inner, inner_raw, True
        slots.setdefault(slot, []).append(SlotValue(value, raw, entity))
        if not judged:
            continue
        # A known value is evidence for the intent; a free value of an
        # extensible entity ("turn on the heating", "baisse le son") is a
        # foreign word, whatever its words.
        inside = set(range(start, end))
        covered |= inside
        if known or not _mistagged(model, tokens, start, end, entity, spans):
            values[start] = known
    return slots, covered, values


def _trimmed(model: Model, tokens: Sequence[Token], start: int, end: int) -> tuple[int, int]:
    """start:end without the function words at its edges."""
    function = model.function
    while start < end - 1 and fold_word(tokens[start].norm) in function:
        start += 1
    while end - 1 > start and fold_word(tokens[end - 1].norm) in function:
        end -= 1
    return start, end


def _mistagged(model: Model, tokens: Sequence[Token], start: int, end: int, entity: str,
               spans: Sequence[EntitySpan]) -> bool:
    """Function words tagged as a value while a known value of the same
    entity is elsewhere ("plus de lumière dans la chambre s'il te plaît"):
    the tagger's slip, not a foreign thing said."""
    function = model.function
    return (all(fold_word(t.norm) in function for t in tokens[start:end])
            and any(name == entity and (b <= start or a >= end) for a, b, name in spans))


def _is_known(model: Model, entity: str, raw: str, start: int, end: int,
              spans: Sequence[EntitySpan], covered: set[int]) -> bool:
    """The slot value at tokens start:end is a known one: a place name, a
    built-in value, a declared value of the entity (or a synonym, a near
    miss) or a value seen in training."""
    if entity in places.KINDS:
        return set(range(start, end)) <= covered
    if entity == "snips/duration":
        # "à 7 heures": inside a time of day that does not read as a
        # duration from its start ("in 10 minutes" does), it is not one.
        durations = {a for a, _, name in spans if name == entity}
        return not any(name == "snips/datetime" and a < start and b >= end
                       and a not in durations for a, b, name in spans)
    if is_builtin(entity):
        return True
    resolver = model.resolvers.get(entity)
    return resolver is None or (resolver.gazetteer.lookup(raw) is not None
                                or resolver.declared_value(raw) is not None)


def _resolve(model: Model, entity: str, text: str, tokens: Sequence[Token], start: int,
             end: int, now: datetime | None, typed: Typed | None) -> tuple[bool, Any, str]:
    """Resolve tokens start:end; the raw value is what was typed. Built-ins
    read the corrected words ("10 minuts"); custom values are read as typed,
    where near misses are matched against the declared values anyway and a
    free value ("call mom") must not be rewritten."""
    raw = text[tokens[start].start : tokens[end - 1].end]
    if typed is None or typed.text == text:
        return (*resolve_value(entity, raw, model.lang, model.resolvers, now), raw)
    as_typed = typed.text[typed.tokens[start].start : typed.tokens[end - 1].end]
    for attempt in ((raw, as_typed) if is_builtin(entity) else (as_typed,)):
        ok, value = resolve_value(entity, attempt, model.lang, model.resolvers, now)
        if ok:
            return True, value, as_typed
    return False, None, as_typed


def _parse_exact(model: Model, text: str, tokens: Sequence[Token],
                 scope: Collection[str] | None, now: datetime | None,
                 typed: Typed) -> Parse | None:
    if model.deterministic is None:
        return None
    kept = [k for k, t in enumerate(tokens) if fold_word(t.norm)]  # words, not marks
    word_tokens = [tokens[k] for k in kept]
    words = [fold_word(t.norm) for t in word_tokens]

    def raw(a: int, b: int) -> str:
        return text[word_tokens[a].start : word_tokens[b - 1].end]

    def is_value(entity: str, a: int, b: int) -> bool:
        gaz = model.gazetteers.get(entity)
        if gaz is not None and tuple(words[a:b]) in gaz.values:
            return True
        if is_builtin(entity):
            return resolve_value(entity, raw(a, b), model.lang, {}, now)[0]
        return False

    found = model.deterministic.match(words, is_value, scope)
    if found is None:
        return None
    intent, holes = found
    slots: dict[str, list[SlotValue]] = {}
    for slot, entity, a, b in holes:
        ok, value, as_typed = _resolve(model, entity, text, tokens, kept[a], kept[b - 1] + 1,
                                       now, typed)
        if not ok:
            return None
        slots.setdefault(slot, []).append(SlotValue(value, as_typed, entity))
    return Parse(typed.text, intent, 1.0, slots)


def _value_in(model: Model, answer: str, entity: str, now: datetime | None) -> list[SlotValue]:
    """The answer as a value of the entity, else a value found inside it."""
    ok, value = (False, None)
    resolver = model.resolvers.get(entity)
    if is_builtin(entity):
        ok, value = resolve_value(entity, answer, model.lang, {}, now)
    elif resolver is not None and (declared := resolver.declared_value(answer)) is not None:
        ok, value = True, declared
    if ok:
        return [SlotValue(value, answer, entity)]
    # The value inside a longer answer ("set it to 10 minutes please").
    tokens = tokenize(answer)
    for start, end, _ in model.matcher.spans(answer, tokens, [entity], now):
        raw = answer[tokens[start].start : tokens[end - 1].end]
        ok, value = resolve_value(entity, raw, model.lang, model.resolvers, now)
        if ok:
            return [SlotValue(value, raw, entity)]
    return []
