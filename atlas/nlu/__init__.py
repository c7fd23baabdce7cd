"""atlas's built-in interpreter: intents and slots from skills' training data.

Pipeline: training data (chatl / Snips JSON) -> Dataset -> engine.fit ->
parse(text) -> Parse(intent, confidence, slots). See docs/nlu.md.
"""

from .cache import train_cached
from .chatl import load_chatl
from .choices import is_cancel, is_cancel_in, match_choice
from .dataset import Chunk, Dataset, Entity, EntityValue, Utterance, merge
from .engine import SnipsLikeInterpreter
from .errors import TrainingDataError
from .interface import Interpreter, create_interpreter
from .loading import load_training
from .parse_cache import CachedParses
from .results import Parse, SlotValue
from .snips_format import load_snips

__all__ = [
    "CachedParses",
    "Chunk",
    "Dataset",
    "Entity",
    "EntityValue",
    "Interpreter",
    "Parse",
    "SlotValue",
    "SnipsLikeInterpreter",
    "TrainingDataError",
    "Utterance",
    "create_interpreter",
    "is_cancel",
    "is_cancel_in",
    "load_chatl",
    "load_snips",
    "load_training",
    "match_choice",
    "merge",
    "train_cached",
]
