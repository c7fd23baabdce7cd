"""atlas's built-in interpreter: intents and slots from skills' training data."""

from .chatl import load_chatl
from .dataset import Chunk, Dataset, Entity, EntityValue, Utterance, merge
from .engine import SnipsLikeInterpreter
from .errors import TrainingDataError
from .loading import load_training
from .results import Parse, SlotValue
from .snips_format import load_snips

__all__ = [
    "Chunk",
    "Dataset",
    "Entity",
    "EntityValue",
    "Parse",
    "SlotValue",
    "SnipsLikeInterpreter",
    "TrainingDataError",
    "Utterance",
    "load_chatl",
    "load_snips",
    "load_training",
    "merge",
]
