"""Metrics of the Snips NLU benchmark: intent accuracy, slot P/R/F1 (micro and
averaged per slot then per intent), sentence accuracy, parse latency.

A slot is right when its name and raw text equal the annotation. Slot
metrics come in two conventions, which differ on sentences whose intent is
wrong:

- strict (`slot_*`): every expected slot is missed and every predicted one
  is wrong;
- Snips' (`snips_slot_*`), as snips-nlu-metrics computes the published
  figures: such a sentence counts for the intent only, not for the slots
  (its slots are listed, with no count, so a slot seen only there scores 0).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Protocol

from .dataset import Dataset
from .results import Parse


class _Parser(Protocol):
    def parse(self, text: str) -> Parse: ...


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


@dataclass
class Report:
    queries: int = 0
    intent_accuracy: float = 0.0
    slot_precision: float = 0.0
    slot_recall: float = 0.0
    slot_f1: float = 0.0
    slot_f1_per_slot_intent: float = 0.0
    snips_slot_f1: float = 0.0
    snips_slot_f1_per_slot_intent: float = 0.0
    sentence_accuracy: float = 0.0
    train_seconds: float | None = None
    parse_p50_ms: float = 0.0
    parse_p99_ms: float = 0.0
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class _SlotCounts:
    """Slot counts per intent and slot name, and over all slots."""

    def __init__(self) -> None:
        self.micro = _Counts()
        self.per_slot: dict[str, dict[str, _Counts]] = defaultdict(lambda: defaultdict(_Counts))

    def count(self, intent: str, slot: str, tp: int = 0, fp: int = 0, fn: int = 0) -> None:
        counts = self.per_slot[intent][slot]
        counts.tp += tp
        counts.fp += fp
        counts.fn += fn
        self.micro.tp += tp
        self.micro.fp += fp
        self.micro.fn += fn

    def per_slot_then_intent(self, intents: list[str]) -> tuple[float, dict[str, float]]:
        means = {intent: statistics.fmean(c.prf()[2] for c in self.per_slot[intent].values())
                 for intent in intents if self.per_slot[intent]}
        return (statistics.fmean(means.values()) if means else 0.0), means


def evaluate(interpreter: _Parser, test: Dataset, max_errors: int = 50) -> Report:
    strict, snips = _SlotCounts(), _SlotCounts()
    latencies: list[float] = []
    right_intents = right_sentences = total = 0
    errors: list[dict[str, object]] = []
    for intent, utterances in sorted(test.intents.items()):
        for u in utterances:
            total += 1
            gold = Counter((str(c.slot), c.text.strip()) for c in u.chunks if c.slot)
            t0 = time.perf_counter()
            parse = interpreter.parse(u.text)
            latencies.append((time.perf_counter() - t0) * 1000)
            pred = Counter((name, v.raw.strip()) for name, vs in parse.slots.items() for v in vs)
            predicted = parse.intent or ""
            right = parse.intent == intent
            hits = gold & pred if right else Counter()
            right_intents += right
            for counts in (strict, snips) if right else (strict,):
                for (slot, _), n in (gold - hits).items():
                    counts.count(intent, slot, fn=n)
                for (slot, _), n in (pred - hits).items():
                    counts.count(predicted, slot, fp=n)
                for (slot, _), n in hits.items():
                    counts.count(intent, slot, tp=n)
            if not right:
                for slot, _ in gold:
                    snips.count(intent, slot)
                for slot, _ in pred:
                    snips.count(predicted, slot)
            if right and gold == pred:
                right_sentences += 1
            elif len(errors) < max_errors:
                errors.append({"text": u.text, "intent": intent, "predicted": parse.intent,
                               "gold": sorted(gold.elements()),
                               "slots": sorted(pred.elements())})
    report = Report(queries=total, errors=errors)
    report.intent_accuracy = right_intents / total if total else 0.0
    report.sentence_accuracy = right_sentences / total if total else 0.0
    report.slot_precision, report.slot_recall, report.slot_f1 = strict.micro.prf()
    report.snips_slot_f1 = snips.micro.prf()[2]
    intents = sorted(test.intents)
    report.slot_f1_per_slot_intent, means = strict.per_slot_then_intent(intents)
    report.snips_slot_f1_per_slot_intent, _ = snips.per_slot_then_intent(intents)
    report.per_intent = {intent: {"slot_f1": mean} for intent, mean in means.items()}
    report.parse_p50_ms = _percentile(latencies, 0.5)
    report.parse_p99_ms = _percentile(latencies, 0.99)
    return report
