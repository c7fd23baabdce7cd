"""Training data from files, for skills that bring none (the original atlas's way).

The operator puts ``<training_dir>/<skill>/<lang>.chatl`` (or ``<lang>.json``, a
snips dataset) next to atlas; a skill whose pong carries no training data gets
those files' contents as if it had sent them. Files are read when they change
(their modification times and sizes are compared: a few ``stat`` calls), so
editing one retrains without restarting anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..protocol import Pong

log = logging.getLogger(__name__)

SUFFIXES = (".chatl", ".json")
#: Where a skill's training came from, when it is its own.
FROM_SKILL = "skill"

Stamp = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Loaded:
    stamp: Stamp
    training: dict[str, str | dict[str, Any]]


class TrainingFiles:
    """Reads and caches ``<folder>/<skill>/<lang>.{chatl,json}``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, Loaded] = {}

    def where(self, name: str) -> Path:
        return self.folder / name

    def stamp(self, name: str) -> Stamp:
        folder = self.where(name)
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        except OSError:
            return ()
        stamps = []
        for file in files:
            try:
                info = file.stat()
            except OSError:
                continue
            stamps.append((file.name, info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def training(self, name: str) -> dict[str, str | dict[str, Any]]:
        """The files' training data per language (read again only if they changed)."""
        stamp = self.stamp(name)
        cached = self._cache.get(name)
        if cached is not None and cached.stamp == stamp:
            return cached.training
        training: dict[str, str | dict[str, Any]] = {}
        for file_name, _, _ in stamp:
            file = self.where(name) / file_name
            lang = file.stem
            try:
                text = file.read_text(encoding="utf-8")
                training[lang] = json.loads(text) if file.suffix == ".json" else text
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                log.error("training file %s left out: %s", file, error)
        if training or cached is not None:
            log.info("training for %s read from %s (%s)", name, self.where(name),
                     ", ".join(sorted(training)) or "no file left")
        self._cache[name] = Loaded(stamp, training)
        return training

    def changed(self, name: str) -> bool:
        cached = self._cache.get(name)
        return self.stamp(name) != (cached.stamp if cached is not None else ())

    def apply(self, pong: Pong) -> tuple[Pong, str]:
        """The pong with the files' training if it brings none, and where training came from:
        ``"skill"``, the folder read, or ``""`` (none at all)."""
        if pong.training:
            return pong, FROM_SKILL
        training = self.training(pong.name)
        if not training:
            return pong, ""
        return replace(pong, training=training), str(self.where(pong.name))
