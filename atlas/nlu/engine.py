"""The default engine: Snips NLU's design rebuilt on scikit-learn and crfsuite.

`SnipsLikeInterpreter` is the Interpreter protocol over the parts that do the
work: fitting.py builds a Model (model.py, plain data) from a Dataset,
parsing.py reads it, model_file.py saves and loads it. `fit` touches no
shared state: the daemon runs it in a thread and swaps the fitted interpreter
in when it is ready.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from . import parsing
from .dataset import Dataset
from .entities import places
from .fitting import fit_model
from .model import FitOptions, Model
from .model_file import load_model, save_model
from .results import Parse, SlotValue


class SnipsLikeInterpreter:
    """Implements the Interpreter protocol."""

    engine = "default"

    def __init__(self, lang: str, *, seed: int = 42, threshold: float = 0.2,
                 noise_ratio: float = 0.5, deterministic: bool = True,
                 workers: int = 1) -> None:
        self.lang = lang
        self.options = FitOptions(seed, threshold, noise_ratio, deterministic)
        # Worker processes for the CRFs of large datasets. Opt-in: they are
        # spawned, and spawning re-imports the program's __main__, which must
        # then be guarded by `if __name__ == "__main__":`.
        self.workers = workers
        self.model: Model | None = None  # set by fit or load

    @property
    def intents(self) -> list[str]:
        return [] if self.model is None else list(self.model.intents)

    def fit(self, dataset: Dataset) -> None:
        self.model = fit_model(self.lang, dataset, self.options, workers=self.workers)
        _read_places(self.lang)

    def parse(self, text: str, scope: Collection[str] | None = None, *,
              now: datetime | None = None, strict: bool = False) -> Parse:
        return parsing.parse(self._fitted(), text, scope, now=now, strict=strict)

    def parse_slot(self, text: str, intent: str, slot: str, *,
                   now: datetime | None = None) -> list[SlotValue]:
        if self.model is None:
            return []
        return parsing.parse_slot(self.model, text, intent, slot, now=now)

    def save(self, directory: Path) -> None:
        save_model(self._fitted(), directory, self.engine)

    @classmethod
    def load(cls, directory: Path) -> SnipsLikeInterpreter:
        model = load_model(directory)
        options = model.options
        interpreter = cls(model.lang, seed=options.seed, threshold=options.threshold,
                          noise_ratio=options.noise_ratio, deterministic=options.deterministic)
        interpreter.model = model
        _read_places(model.lang)
        return interpreter

    def _fitted(self) -> Model:
        if self.model is None:
            raise RuntimeError("interpreter is not fitted")
        return self.model


def _read_places(lang: str) -> None:
    # Parsing reads the place names on first use (the matcher, the speller's check):
    # 0.3 s a process, 3.7 s the first time ever, when their index is built. The
    # daemon fits and loads models in a worker thread: read them there, before the
    # model is used, not in its event loop on some user's turn (every channel waited).
    places.places(lang)
