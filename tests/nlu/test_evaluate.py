"""Metrics, and a smoke test on a few hundred benchmark queries."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from atlas.nlu import Dataset, Parse, SlotValue, SnipsLikeInterpreter, load_snips
from atlas.nlu.evaluate import evaluate
from atlas.nlu.files import load_paths


class _Fixed:
    def __init__(self, answers: dict[str, Parse]) -> None:
        self.answers = answers

    def parse(self, text: str) -> Parse:
        return self.answers[text]


def test_metrics() -> None:
    test = load_snips({"a": [{"data": [{"text": "x "}, {"text": "y", "entity": "s"}]}],
                       "b": [{"data": [{"text": "z "}, {"text": "w", "entity": "t"}]}]})
    parser = _Fixed({
        "x y": Parse("x y", "a", 1.0, {"s": [SlotValue("y", "y", "s")]}),
        "z w": Parse("z w", "a", 1.0, {"s": [SlotValue("w", "w", "s")]}),
    })
    report = evaluate(parser, test)
    assert report.intent_accuracy == 0.5
    assert (report.slot_precision, report.slot_recall) == (0.5, 0.5)
    assert report.sentence_accuracy == 0.5
    assert report.slot_f1_per_slot_intent == pytest.approx((2 / 3 + 0.0) / 2)
    # Snips' convention: the misclassified sentence counts for no slot, but
    # its expected slot b/t is listed, and scores 0.
    assert report.snips_slot_f1 == 1.0
    assert report.snips_slot_f1_per_slot_intent == pytest.approx((1.0 + 0.0) / 2)


def test_benchmark_smoke(nlu_benchmark: Path) -> None:
    """Train on 40 queries per intent, test on 20 others: well above chance."""
    full = load_paths([nlu_benchmark], "en")
    rng = random.Random(0)
    train, test = Dataset("en"), Dataset("en")
    for intent, utterances in full.intents.items():
        picked = rng.sample(utterances, 60)
        train.intents[intent], test.intents[intent] = picked[:40], picked[40:]
    train.entities = test.entities = full.entities
    engine = SnipsLikeInterpreter("en")
    engine.fit(train)
    report = evaluate(engine, test)
    assert len(engine.intents) == 7
    assert report.intent_accuracy > 0.85
    assert report.slot_f1 > 0.5
