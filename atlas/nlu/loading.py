"""Format dispatch: chatl text or Snips-format JSON."""

from __future__ import annotations

from typing import Any

from .chatl import load_chatl
from .dataset import Dataset
from .errors import TrainingDataError
from .snips_format import load_snips


def load_training(data: Any, *, source: str = "", lang: str = "") -> Dataset:
    """Load chatl text or a Snips dataset; raises TrainingDataError, and only that.

    Training data comes from skills over the broker: every type, size and count is
    checked (see :mod:`.limits`) before anything is trained.
    """
    if isinstance(data, str):
        return load_chatl(data, source=source, lang=lang)
    if isinstance(data, dict):
        return load_snips(data, source=source, lang=lang)
    raise TrainingDataError("training data must be chatl text or a JSON object",
                            source=source, lang=lang)
