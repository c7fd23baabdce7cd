"""The default engine: Snips NLU's design rebuilt on scikit-learn and crfsuite.

parse = exact template stage, else intent classifier (with a None class and a
threshold) + the intent's CRF + entity resolution. `fit` is a plain CPU-bound
function with no shared state: the daemon runs it in a thread and swaps the
fitted interpreter in when it is ready.
"""

from __future__ import annotations

import os
import pickle
import random
from collections import Counter
from collections.abc import Collection, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .augmentation import augment
from .coverage import MAX_SENTENCES, Coverage, Said, Sentence, function_words
from .dataset import Dataset, Entity, is_builtin
from .deterministic import DeterministicMatcher
from .entities import builtin_words, places
from .entity_matcher import EntityMatcher, EntitySpan
from .errors import TrainingDataError
from .gazetteer import Gazetteer, value_key
from .noise import NONE_LABEL, noise_utterances
from .normalize import Token, fold_word, tokenize
from .resolve import EntityResolver, resolve_value
from .results import Parse, SlotValue
from .spelling import Speller

if TYPE_CHECKING:  # scikit-learn and crfsuite load only when a model is trained or loaded
    from .intent_classifier import IntentClassifier
    from .slot_filler import Example, SlotFiller

ENGINE_VERSION = "9"  # bump when fitted models change shape or meaning
MODEL_FILE = "model.pkl"
RERANK = 2  # intents tried against the vocabulary check, likeliest first
PARALLEL_MIN_EXAMPLES = 4000  # below this, starting worker processes costs more
# Built-ins every CRF sees as features, whatever the intent's slot types: a
# custom slot often holds a date or a number ("timeRange", "party_size"), or
# a place ("city", "state"): place names are the knowledge of the world that
# a few examples cannot teach (+0.026 F1 per slot with 70 examples per intent).
CRF_BUILTINS = {"snips/number", "snips/ordinal", "snips/datetime", *places.KINDS}


def _coverage(lang: str, dataset: Dataset, gazetteers: dict[str, Gazetteer]) -> Coverage:
    """The vocabulary test, from the folded words of each intent's training
    sentences and of the values of its entities."""
    def words(text: str) -> list[str]:
        return [w for t in tokenize(text) if (w := fold_word(t.norm))]

    if sum(len(utterances) for utterances in dataset.intents.values()) > MAX_SENTENCES:
        return Coverage(lang, {})  # disabled: not skill-sized
    # Values a skill declared are a closed list, however rarely its sentences
    # use each; the others (the benchmark format declares none) may be names.
    declared = {name: {value_key(text) for v in entity.values for text in (v.value, *v.synonyms)}
                for name, entity in dataset.entities.items()}
    sentences = {intent: [Sentence(words(u.text),
                                   [w for c in u.chunks if not c.slot for w in words(c.text)],
                                   [w for c in u.chunks if c.slot and c.entity
                                    and not is_builtin(c.entity)
                                    and value_key(c.text) not in declared.get(c.entity, ())
                                    for w in words(c.text)])
                          for u in utterances]
                 for intent, utterances in dataset.intents.items()}
    values = {intent: [w for entity in set(dataset.slot_entities(intent).values())
                       for key in getattr(gazetteers.get(entity), "values", ()) for w in key]
              for intent in dataset.intents}
    return Coverage(lang, sentences, values)


@dataclass(frozen=True)
class Typed:
    """An utterance as the user typed it."""

    text: str
    tokens: tuple[Token, ...]


class SnipsLikeInterpreter:
    """Implements the Interpreter protocol."""

    engine = "default"

    def __init__(self, lang: str, *, seed: int = 42, threshold: float = 0.2,
                 noise_ratio: float = 0.5, deterministic: bool = True,
                 workers: int = 1) -> None:
        self.lang = lang
        self.seed = seed
        self.threshold = threshold  # below this probability: not understood
        self.noise_ratio = noise_ratio
        self.use_deterministic = deterministic
        # Worker processes for the CRFs of large datasets. Opt-in: they are
        # spawned, and spawning re-imports the program's __main__, which must
        # then be guarded by `if __name__ == "__main__":`.
        self.workers = workers
        self._intents: list[str] = []
        self._slot_entities: dict[str, dict[str, str]] = {}
        self._gazetteers: dict[str, Gazetteer] = {}
        self._resolvers: dict[str, EntityResolver] = {}
        self._matcher = EntityMatcher(lang, {})
        self._deterministic: DeterministicMatcher | None = None
        self._classifier: IntentClassifier | None = None
        self._fillers: dict[str, SlotFiller] = {}
        self._coverage: Coverage | None = None
        self._function: frozenset[str] = frozenset()
        self._speller: Speller | None = None

    @property
    def intents(self) -> list[str]:
        return list(self._intents)

    # -- training -----------------------------------------------------------

    def fit(self, dataset: Dataset) -> None:
        if not dataset.intents:
            raise TrainingDataError("no intents to train on", lang=self.lang)
        rng = random.Random(self.seed)
        self._intents = sorted(dataset.intents)
        self._slot_entities = {i: dataset.slot_entities(i) for i in self._intents}
        self._build_entities(dataset)
        self._coverage = _coverage(self.lang, dataset, self._gazetteers)
        self._function = function_words(self.lang)
        self._speller = self._spelling(dataset) if self._coverage.enabled else None
        self._deterministic = DeterministicMatcher(dataset) if self.use_deterministic else None
        slot_intents = [i for i in self._intents if self._slot_entities[i]]
        pool = self._worker_pool(slot_intents, dataset)
        try:
            self._fillers = self._fit_models(dataset, slot_intents, rng, pool)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _fit_models(self, dataset: Dataset, slot_intents: list[str], rng: random.Random,
                    pool: Executor | None) -> dict[str, SlotFiller]:
        """Fit the classifier and return the slot fillers. With a pool, each
        CRF starts training as soon as its examples are ready, and this process
        fits the classifier meanwhile."""
        from .slot_filler import train_filler

        jobs: dict[str, tuple[str, list[Example], int]] = {}
        futures: dict[str, Future[SlotFiller]] = {}
        for intent in slot_intents:
            jobs[intent] = (self.lang, self._filler_examples(dataset, intent, rng),
                            rng.randrange(2**31))
            if pool is not None:
                try:
                    futures[intent] = pool.submit(train_filler, *jobs[intent])
                except (BrokenProcessPool, OSError, RuntimeError):
                    pool = None  # e.g. a __main__ without the `if __name__` guard
        self._fit_classifier(dataset, rng)
        if pool is not None:
            try:
                return {intent: f.result() for intent, f in futures.items()}
            except (BrokenProcessPool, OSError, RuntimeError):
                pass  # fall back to training here
        return {intent: train_filler(*job) for intent, job in jobs.items()}

    def _build_entities(self, dataset: Dataset) -> None:
        # Gazetteers know declared values and synonyms, and every value seen in
        # a training sentence, as Snips does for extensible entities.
        gazetteers: dict[str, Gazetteer] = {}
        for name, entity in dataset.entities.items():
            gaz = gazetteers.setdefault(name, Gazetteer())
            for v in entity.values:
                gaz.add(v.value, v.value)
                for s in v.synonyms:
                    gaz.add(s, v.value)
        for utterances in dataset.intents.values():
            for u in utterances:
                for c in u.chunks:
                    if c.entity:
                        gazetteers.setdefault(c.entity, Gazetteer()).add(c.text, c.text)
        wording = {w for utterances in dataset.intents.values() for u in utterances
                   for c in u.chunks if not c.slot for t in tokenize(c.text)
                   if (w := fold_word(t.norm))}
        self._gazetteers = gazetteers
        self._matcher = EntityMatcher(self.lang, gazetteers, wording)
        self._resolvers = {
            name: EntityResolver(dataset.entities.get(name) or Entity(name), gaz)
            for name, gaz in gazetteers.items()
            if not is_builtin(name)
        }

    def _spelling(self, dataset: Dataset) -> Speller:
        """Slips are corrected toward the training sentences' words. Only for
        skill-sized, templated data (as the vocabulary check): in name-heavy
        data, an unknown word is more often a name than a slip."""
        words = Counter(w for utterances in dataset.intents.values() for u in utterances
                        for t in tokenize(u.text) if (w := fold_word(t.norm)))
        # and what any request may say: "trois", "minutes", "demain", "many"
        words.update((builtin_words(self.lang) | function_words(self.lang)) - set(words))
        known = {w for gaz in self._gazetteers.values() for key in gaz.values for w in key}
        return Speller(words, known)

    def _fit_classifier(self, dataset: Dataset, rng: random.Random) -> None:
        from .intent_classifier import IntentClassifier

        texts, labels = [], []
        for intent in self._intents:
            for u in dataset.intents[intent]:
                texts.append(u.text)
                labels.append(intent)
        vocab = sorted({w for t in texts for tok in tokenize(t) if (w := fold_word(tok.norm))})
        lengths = [len(tokenize(t)) for t in texts]
        count = max(20, int(self.noise_ratio * len(texts) / len(self._intents)))
        noise = noise_utterances(vocab, lengths, count, self.lang, rng)
        self._classifier = IntentClassifier(self.lang)
        self._classifier.fit(texts + noise, labels + [NONE_LABEL] * len(noise))

    def _worker_pool(self, slot_intents: list[str], dataset: Dataset) -> Executor | None:
        """Worker processes for large datasets: crfsuite holds the GIL while it
        trains. Spawned, as forking a threaded daemon is unsafe."""
        size = sum(len(dataset.intents[i]) for i in slot_intents)
        workers = min(len(slot_intents), self.workers, os.cpu_count() or 1)
        if workers < 2 or size < PARALLEL_MIN_EXAMPLES:
            return None
        return ProcessPoolExecutor(workers, mp_context=get_context("spawn"))

    def _filler_examples(self, dataset: Dataset, intent: str,
                         rng: random.Random) -> list[Example]:
        from .slot_filler import labels_for

        entity_names = sorted(set(self._slot_entities[intent].values()) | CRF_BUILTINS)
        matcher = self._matcher
        examples: list[Example] = []
        values = {name: [v for v in gaz.values.values()] for name, gaz in self._gazetteers.items()}
        for u in augment(dataset.intents[intent], values, rng):
            text, spans, pos = "", [], 0
            for c in u.chunks:
                if c.slot:
                    spans.append((pos, pos + len(c.text), c.slot))
                text += c.text
                pos += len(c.text)
            tokens = tokenize(text)
            entity_spans = matcher.spans(text, tokens, entity_names)
            examples.append((tokens, labels_for(tokens, spans), entity_spans))
        return examples

    # -- parsing ------------------------------------------------------------

    def parse(self, text: str, scope: Collection[str] | None = None, *,
              now: datetime | None = None, strict: bool = False) -> Parse:
        """``strict``: for a context with a fallback of its own, which takes what its
        intents do not cover, the vocabulary test applies to every intent."""
        if self._classifier is None:
            raise RuntimeError("interpreter is not fitted")
        typed = Typed(text, tokenize(text))
        if not any(fold_word(t.norm) for t in typed.tokens):
            return Parse(text, None, 1.0, {})
        # Parsing reads the text with its slips corrected; slots keep what was typed.
        text, tokens = self._corrected(typed.text, typed.tokens) or (typed.text, typed.tokens)
        exact = self._parse_exact(text, tokens, scope, now, typed)
        if exact is not None:
            return exact
        ranked, none = self._ranked(text, scope)
        if not ranked:
            return Parse(typed.text, None, none, {})
        if strict and self._coverage is not None:
            intent, confidence = ranked[0]
            slots, said = self._said(text, tokens, intent, now, typed)
            if self._coverage.strange_to(intent, said):
                return Parse(typed.text, None, 1.0 - confidence, {})
            return Parse(typed.text, intent, confidence, slots)
        if self._coverage is None or not self._coverage.checks(ranked[0][0]):
            intent, confidence = ranked[0]
            return Parse(typed.text, intent, confidence,
                         self._fill(text, tokens, intent, now, typed)[0])
        # Whatever the scope (the root intents, a context's), the intent must
        # cover what was said (see coverage.py): of the likeliest intents, the
        # one whose vocabulary covers it best.
        best: tuple[float, str, float, dict[str, list[SlotValue]]] | None = None
        for intent, confidence in ranked[:RERANK]:
            if not self._coverage.checks(intent):
                continue  # a runner-up never checked must not take what the first may not
            slots, said = self._said(text, tokens, intent, now, typed)
            margin = self._coverage.margin(intent, said, scope, confidence)
            if margin is not None and (best is None or margin > best[0]):
                best = (margin, intent, confidence, slots)
        if best is None:
            return Parse(typed.text, None, 1.0 - ranked[0][1], {})
        return Parse(typed.text, best[1], best[2], best[3])

    def _said(self, text: str, tokens: Sequence[Token], intent: str, now: datetime | None,
              typed: Typed) -> tuple[dict[str, list[SlotValue]], list[Said]]:
        """The slots, and what was said for the vocabulary check, in order."""
        slots, covered, values = self._fill(text, tokens, intent, now, typed, judged=True)
        said: dict[int, Said] = {start: Said(value=known) for start, known in values.items()}
        for k, t in enumerate(tokens):
            if k not in covered and (w := fold_word(t.norm)):
                said[k] = Said(w, t.norm != typed.tokens[k].norm)
        return slots, [said[k] for k in sorted(said)]

    def _corrected(self, text: str, tokens: Sequence[Token]
                   ) -> tuple[str, tuple[Token, ...]] | None:
        """The text and tokens with typing slips corrected; None if none."""
        if self._speller is None:
            return None
        return self._speller.fix(text, tokens, places.places(self.lang).is_well_known)

    def _ranked(self, text: str, scope: Collection[str] | None
                ) -> tuple[list[tuple[str, float]], float]:
        """The intents the classifier accepts, likeliest first, and the None
        class's probability (renormalised over the scope)."""
        assert self._classifier is not None
        probs = self._classifier.probabilities(text)
        candidates = [i for i in self._intents if scope is None or i in scope]
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
        return [(i, p) for i, p in ranked if p >= self.threshold and p > none], none

    def _fill(self, text: str, tokens: Sequence[Token], intent: str,
              now: datetime | None, typed: Typed | None = None, *, judged: bool = False
              ) -> tuple[dict[str, list[SlotValue]], set[int], dict[int, bool]]:
        """The slots; the tokens inside known entity values and, when
        `judged` (for the vocabulary check), inside slots; and where each slot
        starts, with whether its value is a known one. `typed` is the text as
        typed when `text` has slips corrected."""
        filler = self._fillers.get(intent)
        entities = self._slot_entities[intent]
        names = sorted(set(entities.values()) | CRF_BUILTINS)
        spans: list[EntitySpan] = self._matcher.spans(text, tokens, names, now)
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
            ok, value, raw = self._resolve(entity, text, tokens, start, end, now, typed)
            if not ok:
                continue
            known = judged and self._is_known(entity, raw, start, end, spans, covered)
            if judged and not known and not is_builtin(entity):
                # "the bathroom please" tagged whole: the known value inside it
                a, b = self._trimmed(tokens, start, end)
                if (a, b) != (start, end):
                    ok, inner, inner_raw = self._resolve(entity, text, tokens, a, b, now, typed)
                    if ok and self._is_known(entity, inner_raw, a, b, spans, covered):
                        start, end, value, raw, known = a, b, inner, inner_raw, True
            slots.setdefault(slot, []).append(SlotValue(value, raw, entity))
            if not judged:
                continue
            # A known value is evidence for the intent; a free value of an
            # extensible entity ("turn on the heating", "baisse le son") is a
            # foreign word, whatever its words.
            inside = set(range(start, end))
            covered |= inside
            if known or not self._mistagged(tokens, start, end, entity, spans):
                values[start] = known
        return slots, covered, values

    def _trimmed(self, tokens: Sequence[Token], start: int, end: int) -> tuple[int, int]:
        """start:end without the function words at its edges."""
        function = self._function
        while start < end - 1 and fold_word(tokens[start].norm) in function:
            start += 1
        while end - 1 > start and fold_word(tokens[end - 1].norm) in function:
            end -= 1
        return start, end

    def _mistagged(self, tokens: Sequence[Token], start: int, end: int, entity: str,
                   spans: Sequence[EntitySpan]) -> bool:
        """Function words tagged as a value while a known value of the same
        entity is elsewhere ("plus de lumière dans la chambre s'il te plaît"):
        the tagger's slip, not a foreign thing said."""
        function = self._function
        return (all(fold_word(t.norm) in function for t in tokens[start:end])
                and any(name == entity and (b <= start or a >= end) for a, b, name in spans))

    def _is_known(self, entity: str, raw: str, start: int, end: int,
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
        resolver = self._resolvers.get(entity)
        return resolver is None or (resolver.gazetteer.lookup(raw) is not None
                                    or resolver.declared_value(raw) is not None)

    def _resolve(self, entity: str, text: str, tokens: Sequence[Token], start: int, end: int,
                 now: datetime | None, typed: Typed | None) -> tuple[bool, Any, str]:
        """Resolve tokens start:end; the raw value is what was typed. Built-ins
        read the corrected words ("10 minuts"); custom values are read as typed,
        where near misses are matched against the declared values anyway and a
        free value ("call mom") must not be rewritten."""
        raw = text[tokens[start].start : tokens[end - 1].end]
        if typed is None or typed.text == text:
            return (*resolve_value(entity, raw, self.lang, self._resolvers, now), raw)
        as_typed = typed.text[typed.tokens[start].start : typed.tokens[end - 1].end]
        for attempt in ((raw, as_typed) if is_builtin(entity) else (as_typed,)):
            ok, value = resolve_value(entity, attempt, self.lang, self._resolvers, now)
            if ok:
                return True, value, as_typed
        return False, None, as_typed

    def _parse_exact(self, text: str, tokens: Sequence[Token], scope: Collection[str] | None,
                     now: datetime | None, typed: Typed) -> Parse | None:
        if self._deterministic is None:
            return None
        kept = [k for k, t in enumerate(tokens) if fold_word(t.norm)]  # words, not marks
        word_tokens = [tokens[k] for k in kept]
        words = [fold_word(t.norm) for t in word_tokens]

        def raw(a: int, b: int) -> str:
            return text[word_tokens[a].start : word_tokens[b - 1].end]

        def is_value(entity: str, a: int, b: int) -> bool:
            gaz = self._gazetteers.get(entity)
            if gaz is not None and tuple(words[a:b]) in gaz.values:
                return True
            if is_builtin(entity):
                return resolve_value(entity, raw(a, b), self.lang, {}, now)[0]
            return False

        found = self._deterministic.match(words, is_value, scope)
        if found is None:
            return None
        intent, holes = found
        slots: dict[str, list[SlotValue]] = {}
        for slot, entity, a, b in holes:
            ok, value, as_typed = self._resolve(entity, text, tokens, kept[a], kept[b - 1] + 1,
                                                now, typed)
            if not ok:
                return None
            slots.setdefault(slot, []).append(SlotValue(value, as_typed, entity))
        return Parse(typed.text, intent, 1.0, slots)

    def parse_slot(self, text: str, intent: str, slot: str, *,
                   now: datetime | None = None) -> list[SlotValue]:
        entity = self._slot_entities.get(intent, {}).get(slot)
        answer = text.strip()
        if entity is None or not answer:
            return []
        resolver = self._resolvers.get(entity)
        found = self._value_in(answer, entity, now)
        if not found and is_builtin(entity):
            # "10 minuts": a built-in read from the corrected words, the raw as typed
            fixed = self._corrected(answer, tokenize(answer))
            if fixed is not None:
                found = [SlotValue(v.value, answer, entity)
                         for v in self._value_in(fixed[0], entity, now)]
        if not found and resolver is not None and resolver.extensible:
            return [SlotValue(answer, answer, entity)]
        return found

    def _value_in(self, answer: str, entity: str, now: datetime | None) -> list[SlotValue]:
        """The answer as a value of the entity, else a value found inside it."""
        ok, value = (False, None)
        resolver = self._resolvers.get(entity)
        if is_builtin(entity):
            ok, value = resolve_value(entity, answer, self.lang, {}, now)
        elif resolver is not None and (declared := resolver.declared_value(answer)) is not None:
            ok, value = True, declared
        if ok:
            return [SlotValue(value, answer, entity)]
        # The value inside a longer answer ("set it to 10 minutes please").
        tokens = tokenize(answer)
        for start, end, _ in self._matcher.spans(answer, tokens, [entity], now):
            raw = answer[tokens[start].start : tokens[end - 1].end]
            ok, value = resolve_value(entity, raw, self.lang, self._resolvers, now)
            if ok:
                return [SlotValue(value, raw, entity)]
        return []

    # -- persistence --------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {"version": ENGINE_VERSION, "engine": self.engine, "interpreter": self}
        with open(directory / MODEL_FILE, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, directory: Path) -> SnipsLikeInterpreter:
        # Models are our own cache files, written by save(): pickle is fine here.
        with open(Path(directory) / MODEL_FILE, "rb") as f:
            state: dict[str, Any] = pickle.load(f)
        if state.get("version") != ENGINE_VERSION or not isinstance(state["interpreter"], cls):
            raise ValueError(f"model in {directory} was saved by another engine version")
        interpreter: SnipsLikeInterpreter = state["interpreter"]
        return interpreter
