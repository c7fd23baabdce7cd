"""A fitted model on disk: one pickle, tagged with the engine's version.

Models are our own cache files, written by save_model (the daemon's model
cache, `atlas nlu train`): pickle is fine here. A file of another version is
refused, and the cache (cache.py) then trains anew.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from .model import Model

ENGINE_VERSION = "10"  # bump when fitted models change shape or meaning
MODEL_FILE = "model.pkl"


def save_model(model: Model, directory: Path, engine: str = "default") -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {"version": ENGINE_VERSION, "engine": engine, "model": model}
    with open(directory / MODEL_FILE, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(directory: Path) -> Model:
    with open(Path(directory) / MODEL_FILE, "rb") as f:
        state: dict[str, Any] = pickle.load(f)
    model = state.get("model")
    if state.get("version") != ENGINE_VERSION or not isinstance(model, Model):
        raise ValueError(f"model in {directory} was saved by another engine version")
    return model
