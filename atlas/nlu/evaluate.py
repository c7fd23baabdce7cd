"""Metrics of the Snips NLU benchmark: intent accuracy, slot P/R/F1 (micro and
averaged per slot then per intent), sentence accuracy, parse latency.

A slot is right when its name and raw text equal the annotation; when the
intent is wrong, every expected slot is missed and every predicted one is wrong
(as in Snips' metrics).
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


def evaluate(interpreter: _Parser, test: Dataset, max_errors: int = 50) -> Report:
    micro = _Counts()
    per_slot: dict[str, dict[str, _Counts]] = defaultdict(lambda: defaultdict(_Counts))
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
            if parse.intent != intent:
                hits: Counter[tuple[str, str]] = Counter()
            else:
                right_intents += 1
                hits = gold & pred
            for (slot, _), n in (gold - hits).items():
                per_slot[intent][slot].fn += n
                micro.fn += n
            for (slot, _), n in (pred - hits).items():
                per_slot[parse.intent or ""][slot].fp += n
                micro.fp += n
            for (slot, _), n in hits.items():
                per_slot[intent][slot].tp += n
                micro.tp += n
            if parse.intent == intent and gold == pred:
                right_sentences += 1
            elif len(errors) < max_errors:
                errors.append({"text": u.text, "intent": intent, "predicted": parse.intent,
                               "gold": sorted(gold.elements()),
                               "slots": sorted(pred.elements())})
    report = Report(queries=total, errors=errors)
    report.intent_accuracy = right_intents / total if total else 0.0
    report.sentence_accuracy = right_sentences / total if total else 0.0
    report.slot_precision, report.slot_recall, report.slot_f1 = micro.prf()
    intent_means = []
    for intent in sorted(test.intents):
        f1s = [c.prf()[2] for c in per_slot[intent].values()]
        if f1s:
            mean = statistics.fmean(f1s)
            intent_means.append(mean)
            report.per_intent[intent] = {"slot_f1": mean}
    report.slot_f1_per_slot_intent = statistics.fmean(intent_means) if intent_means else 0.0
    report.parse_p50_ms = _percentile(latencies, 0.5)
    report.parse_p99_ms = _percentile(latencies, 0.99)
    return report
