"""Slot filling: one linear-chain CRF per intent (python-crfsuite), BIO labels."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Sequence
from typing import Any

from .entity_matcher import EntitySpan
from .features import bio_tags, sentence_features
from .normalize import Token, stemmer_for

OUTSIDE = "O"
Example = tuple[Sequence[Token], list[str], list[EntitySpan]]
# Snips NLU's setting: the CRF sees entity-match features only half the time,
# so it also learns to find values that no list declares.
ENTITY_DROPOUT = 0.5
# L-BFGS gains nothing measurable past ~30 iterations on the benchmark (in both
# regimes) and its cost grows linearly with them.
MAX_ITERATIONS = 30
# Capitalised-run features (features.py) help small training sets find titles
# and names (+0.005 F1 per slot with 70 sentences per intent) but cost as much
# with ~1,850, where the words themselves say more: used below this size.
CAPITALS_MAX_EXAMPLES = 1000


def labels_for(tokens: Sequence[Token], slots: Sequence[tuple[int, int, str]]) -> list[str]:
    """BIO labels from character-offset slot spans (start, end, slot name)."""
    labels = [OUTSIDE] * len(tokens)
    for start, end, slot in slots:
        inside = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end]
        for k, i in enumerate(inside):
            labels[i] = ("B-" if k == 0 else "I-") + slot
    return labels


def decode(labels: Sequence[str]) -> list[tuple[str, int, int]]:
    """(slot, start token, end token exclusive) from BIO labels, tolerating I- starts."""
    spans: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        if label == OUTSIDE:
            continue
        prefix, slot = label[:1], label[2:]
        if prefix == "I" and spans and spans[-1][0] == slot and spans[-1][2] == i:
            spans[-1] = (slot, spans[-1][1], i + 1)
        else:
            spans.append((slot, i, i + 1))
    return spans


def _quiet_trainer(algorithm: str) -> Any:
    """A trainer that skips pycrfsuite's Python parsing of every log line (done
    even when not verbose). Imported here: skills import atlas.nlu only to
    validate their training data and should not pay for crfsuite."""
    import pycrfsuite

    class QuietTrainer(pycrfsuite.Trainer):
        def message(self, message: str) -> None:
            pass

    return QuietTrainer(algorithm=algorithm, verbose=False)


class SlotFiller:
    def __init__(self, lang: str, *, c1: float = 0.1, c2: float = 0.1,
                 max_iterations: int = MAX_ITERATIONS, algorithm: str = "lbfgs") -> None:
        self.lang = lang
        self.stemmer = stemmer_for(lang)
        self.algorithm = algorithm
        self.params: dict[str, Any] = {"max_iterations": max_iterations,
                                       "feature.possible_transitions": True}
        if algorithm == "lbfgs":
            self.params.update(c1=c1, c2=c2)
        self.capitals = True
        self._model: bytes = b""
        self._tagger: Any = None

    def fit(self, examples: Sequence[Example], seed: int) -> None:
        rng = random.Random(seed)
        self.capitals = len(examples) < CAPITALS_MAX_EXAMPLES
        trainer = _quiet_trainer(self.algorithm)
        trainer.set_params(self.params)
        for tokens, labels, spans in examples:
            names = {name for _, _, name in spans}
            kept_names = {name for name in sorted(names) if rng.random() >= ENTITY_DROPOUT}
            kept = [s for s in spans if s[2] in kept_names]
            xseq = sentence_features(tokens, self.stemmer, bio_tags(len(tokens), kept),
                                     self.capitals)
            trainer.append(xseq, labels)
        fd, path = tempfile.mkstemp(suffix=".crfsuite")
        os.close(fd)
        try:
            trainer.train(path)
            with open(path, "rb") as f:
                self._model = f.read()
        finally:
            os.unlink(path)
        self._open()

    def _open(self) -> None:
        import pycrfsuite

        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)

    def tag(self, tokens: Sequence[Token], spans: list[EntitySpan]) -> list[tuple[str, int, int]]:
        if not tokens:
            return []
        xseq = sentence_features(tokens, self.stemmer, bio_tags(len(tokens), spans),
                                 self.capitals)
        return decode(self._tagger.tag(xseq))

    # Taggers are C objects: persist the model bytes and reopen on load.
    def __getstate__(self) -> dict[str, Any]:
        return {"params": self.params, "model": self._model, "lang": self.lang,
                "algorithm": self.algorithm, "capitals": self.capitals}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.params = state["params"]
        self.algorithm = state["algorithm"]
        self.lang = state["lang"]
        self.stemmer = stemmer_for(self.lang)
        self._model = state["model"]
        self.capitals = state["capitals"]
        self._tagger = None
        self._open()


def train_filler(lang: str, examples: Sequence[Example], seed: int) -> SlotFiller:
    """Module-level so that a process pool can run it."""
    filler = SlotFiller(lang)
    filler.fit(examples, seed)
    return filler
