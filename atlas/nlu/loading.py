"""Format dispatch: chatl text or Snips-format JSON."""

from __future__ import annotations

from .chatl import load_chatl
from .dataset import Dataset
from .errors import TrainingDataError
from .snips_format import load_snips


def load_training(data: str | dict, *, source: str = "", lang: str = "") -> Dataset:
    if isinstance(data, str):
        return load_chatl(data, source=source, lang=lang)
    if isinstance(data, dict):
        return load_snips(data, source=source, lang=lang)
    raise TrainingDataError("training data must be chatl text or a JSON object",
                            source=source, lang=lang)
