"""Reading training files: *.chatl and *.json (Snips NLU or benchmark format)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .dataset import Dataset, merge
from .errors import TrainingDataError
from .loading import load_training


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # CESU-8 surrogate pairs (one benchmark file has an emoji written so).
        text = raw.decode("utf-8", "surrogatepass")
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def training_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix in (".json", ".chatl")))
        else:
            found.append(p)
    return found


def load_file(path: Path, lang: str = "") -> Dataset:
    text = read_text(path)
    if path.suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise TrainingDataError(f"invalid JSON: {e.msg}", source=str(path), lang=lang,
                                    line=e.lineno) from e
        return load_training(obj, source=str(path), lang=lang)
    return load_training(text, source=str(path), lang=lang)


def load_paths(paths: Iterable[Path], lang: str = "") -> Dataset:
    dataset = merge(load_file(p, lang) for p in training_files(paths))
    dataset.lang = lang or dataset.lang
    return dataset
