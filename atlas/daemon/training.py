"""Turns the live skills' training data into one interpreter per language."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from .. import nlu
from ..protocol import FALLBACK_INTENT, Pong

log = logging.getLogger(__name__)


def datasets(skills: Mapping[str, Pong]) -> dict[str, nlu.Dataset]:
    """Merge every skill's data per language; a skill's bad data is logged and left out.

    Only the intents a skill owns after conflict resolution would be fair to
    keep, but a contested intent's examples describe the same intent either way.
    """
    per_lang: dict[str, list[nlu.Dataset]] = {}
    for name in sorted(skills):
        for lang, data in sorted(skills[name].training.items()):
            try:
                dataset = nlu.load_training(data, source=name, lang=lang)
            except nlu.TrainingDataError as error:
                log.error("training data left out: %s", error)
                continue
            except Exception:  # a loader bug must not take every skill down with it
                log.exception("training data of skill %s (%s) left out", name, lang)
                continue
            per_lang.setdefault(lang, []).append(dataset)
    return {lang: nlu.merge(parts) for lang, parts in per_lang.items()}


def train(skills: Mapping[str, Pong], cache_dir: Path | None,
          engine: str = "default") -> dict[str, nlu.Interpreter]:
    """CPU-bound: run it in a worker thread. Models are cached by data checksum."""
    interpreters: dict[str, nlu.Interpreter] = {}
    for lang, dataset in datasets(skills).items():
        try:
            # Remembered parses live as long as this model: retraining starts afresh.
            interpreters[lang] = nlu.CachedParses(
                nlu.train_cached(lang, dataset, cache_dir, engine), dataset)
        except Exception:
            log.exception("training the %s interpreter failed; %s stays untrained", lang, lang)
    return interpreters


def untrained(pong: Pong) -> list[str]:
    """The skill's intents with no example in any language (fallbacks need none)."""
    examples: set[str] = set()
    for lang, data in pong.training.items():
        try:
            dataset = nlu.load_training(data, source=pong.name, lang=lang)
        except nlu.TrainingDataError:
            continue
        examples.update(intent for intent, utterances in dataset.intents.items() if utterances)
    return sorted(intent for intent in pong.intents if intent not in examples
                  and intent.rsplit("/", 1)[-1] != FALLBACK_INTENT)
