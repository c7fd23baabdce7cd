"""Trained models cached on disk, keyed by a checksum of the training data.

A restart with the same skills loads the model instead of training it. The key
covers the data, the language, the engine and its version, so that a change to
any of them trains anew. Models are written to a temporary directory and
renamed into place, so that a crash never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .dataset import Dataset
from .interface import Interpreter, engine_class
from .model_file import ENGINE_VERSION

log = logging.getLogger(__name__)


def cache_key(lang: str, dataset: Dataset, engine: str = "default") -> str:
    cls = engine_class(engine)
    blob = f"{cls.__module__}.{cls.__qualname__}:{ENGINE_VERSION}:{lang}:{dataset.checksum()}"
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def model_dir(cache_dir: Path, lang: str, dataset: Dataset, engine: str = "default") -> Path:
    return Path(cache_dir) / f"nlu-{lang}-{cache_key(lang, dataset, engine)}"


def train_cached(
    lang: str, dataset: Dataset, cache_dir: Path | None, engine: str = "default"
) -> Interpreter:
    cls = engine_class(engine)
    if cache_dir is None:
        interpreter = cls(lang)
        interpreter.fit(dataset)
        return interpreter
    target = model_dir(cache_dir, lang, dataset, engine)
    if target.is_dir():
        try:
            return cls.load(target)
        except Exception as e:  # a corrupt or foreign cache entry: retrain
            log.warning("discarding NLU model cache %s: %s", target, e)
            shutil.rmtree(target, ignore_errors=True)
    interpreter = cls(lang)
    interpreter.fit(dataset)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))
    try:
        interpreter.save(tmp)
        os.replace(tmp, target)
    except OSError:
        # Another process stored the same model first: theirs is as good.
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(Path(cache_dir), lang, keep=target)
    return interpreter


def _prune(cache_dir: Path, lang: str, keep: Path, max_models: int = 3) -> None:
    """Keep the few most recent models per language: skills change, disks fill."""
    models = sorted(
        (p for p in cache_dir.glob(f"nlu-{lang}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in models[max_models - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
