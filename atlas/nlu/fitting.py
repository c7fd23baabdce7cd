"""Fitting: a Dataset and options in, a Model out.

A plain CPU-bound function that touches no shared state: the daemon runs it in
a thread and swaps the model in when it is ready. The CRFs of large datasets
train in worker processes (crf_workers.py) while this process fits the intent
classifier.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .augmentation import augment
from .coverage import MAX_SENTENCES, Coverage, Sentence, function_words
from .crf_workers import FillerTraining
from .dataset import Dataset, Entity, is_builtin
from .deterministic import DeterministicMatcher
from .entities import builtin_words
from .entity_matcher import EntityMatcher
from .errors import TrainingDataError
from .gazetteer import Gazetteer, value_key
from .model import CRF_BUILTINS, FitOptions, Model
from .noise import NONE_LABEL, noise_utterances
from .normalize import fold_word, remembering_tokens, tokenize
from .resolve import EntityResolver
from .spelling import Speller

if TYPE_CHECKING:  # scikit-learn and crfsuite load only when a model is trained or loaded
    from .intent_classifier import IntentClassifier
    from .slot_filler import Example


def fit_model(lang: str, dataset: Dataset, options: FitOptions | None = None, *,
              workers: int = 1) -> Model:
    """The model of `dataset`. `workers` > 1 allows worker processes for the
    CRFs of large datasets (see crf_workers.py for what that asks of
    `__main__`); the model is the same either way."""
    if not dataset.intents:
        raise TrainingDataError("no intents to train on", lang=lang)
    with remembering_tokens():
        return _fit(lang, dataset, options or FitOptions(), workers)


def _fit(lang: str, dataset: Dataset, options: FitOptions, workers: int) -> Model:
    rng = random.Random(options.seed)
    intents = sorted(dataset.intents)
    slot_entities = {i: dataset.slot_entities(i) for i in intents}
    gazetteers = _gazetteers(dataset)
    matcher = _matcher(lang, dataset, gazetteers)
    coverage = _coverage(lang, dataset, gazetteers)
    speller = _speller(lang, dataset, gazetteers) if coverage.enabled else None
    deterministic = DeterministicMatcher(dataset) if options.deterministic else None
    slot_intents = [i for i in intents if slot_entities[i]]
    examples = sum(len(dataset.intents[i]) for i in slot_intents)
    with FillerTraining(min(workers, len(slot_intents)), examples) as training:
        # Each CRF starts as soon as its examples are ready, and this process
        # fits the classifier meanwhile; the random draws keep this order.
        for intent in slot_intents:
            training.submit(intent, (lang, _filler_examples(
                lang, dataset, intent, slot_entities[intent], gazetteers, matcher, rng),
                rng.randrange(2**31)))
        classifier = _classifier(lang, dataset, intents, options.noise_ratio, rng)
        fillers = training.results()
    return Model(
        lang=lang,
        options=options,
        intents=tuple(intents),
        slot_entities=slot_entities,
        gazetteers=gazetteers,
        resolvers={name: EntityResolver(dataset.entities.get(name) or Entity(name), gaz)
                   for name, gaz in gazetteers.items() if not is_builtin(name)},
        matcher=matcher,
        deterministic=deterministic,
        classifier=classifier,
        fillers=fillers,
        coverage=coverage,
        function=function_words(lang),
        speller=speller,
    )


def _words(text: str) -> list[str]:
    return [w for t in tokenize(text) if (w := fold_word(t.norm))]


def _gazetteers(dataset: Dataset) -> dict[str, Gazetteer]:
    """Gazetteers know declared values and synonyms, and every value seen in
    a training sentence, as Snips does for extensible entities."""
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
    return gazetteers


def _matcher(lang: str, dataset: Dataset, gazetteers: dict[str, Gazetteer]) -> EntityMatcher:
    """Known values found in sentences; the wording outside slots, so that a
    place made only of the skills' own words is not one."""
    wording = {w for utterances in dataset.intents.values() for u in utterances
               for c in u.chunks if not c.slot for w in _words(c.text)}
    return EntityMatcher(lang, gazetteers, wording)


def _coverage(lang: str, dataset: Dataset, gazetteers: Mapping[str, Gazetteer]) -> Coverage:
    """The vocabulary test, from the folded words of each intent's training
    sentences and of the values of its entities."""
    if sum(len(utterances) for utterances in dataset.intents.values()) > MAX_SENTENCES:
        return Coverage(lang, {})  # disabled: not skill-sized
    # Values a skill declared are a closed list, however rarely its sentences
    # use each; the others (the benchmark format declares none) may be names.
    declared = {name: {value_key(text) for v in entity.values for text in (v.value, *v.synonyms)}
                for name, entity in dataset.entities.items()}
    sentences = {intent: [Sentence(_words(u.text),
                                   [w for c in u.chunks if not c.slot for w in _words(c.text)],
                                   [w for c in u.chunks if c.slot and c.entity
                                    and not is_builtin(c.entity)
                                    and value_key(c.text) not in declared.get(c.entity, ())
                                    for w in _words(c.text)])
                          for u in utterances]
                 for intent, utterances in dataset.intents.items()}
    values = {intent: [w for entity in set(dataset.slot_entities(intent).values())
                       for key in getattr(gazetteers.get(entity), "values", ()) for w in key]
              for intent in dataset.intents}
    return Coverage(lang, sentences, values)


def _speller(lang: str, dataset: Dataset, gazetteers: Mapping[str, Gazetteer]) -> Speller:
    """Slips are corrected toward the training sentences' words. Only for
    skill-sized, templated data (as the vocabulary check): in name-heavy
    data, an unknown word is more often a name than a slip."""
    words = Counter(w for utterances in dataset.intents.values() for u in utterances
                    for w in _words(u.text))
    # and what any request may say: "trois", "minutes", "demain", "many"
    words.update((builtin_words(lang) | function_words(lang)) - set(words))
    known = {w for gaz in gazetteers.values() for key in gaz.values for w in key}
    return Speller(words, known)


def _classifier(lang: str, dataset: Dataset, intents: list[str], noise_ratio: float,
                rng: random.Random) -> IntentClassifier:
    """The intent classifier, with a None class of noise sentences."""
    from .intent_classifier import IntentClassifier

    texts, labels = [], []
    for intent in intents:
        for u in dataset.intents[intent]:
            texts.append(u.text)
            labels.append(intent)
    vocab = sorted({w for t in texts for w in _words(t)})
    lengths = [len(tokenize(t)) for t in texts]
    count = max(20, int(noise_ratio * len(texts) / len(intents)))
    noise = noise_utterances(vocab, lengths, count, lang, rng)
    classifier = IntentClassifier(lang)
    classifier.fit(texts + noise, labels + [NONE_LABEL] * len(noise))
    return classifier


def _filler_examples(lang: str, dataset: Dataset, intent: str, entities: Mapping[str, str],
                     gazetteers: Mapping[str, Gazetteer], matcher: EntityMatcher,
                     rng: random.Random) -> list[Example]:
    """The CRF's training sentences (augmented): tokens, BIO labels, and the
    entity spans it sees as features."""
    from .slot_filler import labels_for

    entity_names = sorted(set(entities.values()) | CRF_BUILTINS)
    examples: list[Example] = []
    values = {name: list(gaz.values.values()) for name, gaz in gazetteers.items()}
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
