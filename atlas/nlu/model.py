"""The fitted model: plain data, built by fitting.py, read by parsing.py,
written and read by model_file.py.

Nothing here trains or parses; a model never changes once built, so one can
be shared by threads and swapped in whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .coverage import Coverage
from .deterministic import DeterministicMatcher
from .entities import places
from .entity_matcher import EntityMatcher
from .gazetteer import Gazetteer
from .resolve import EntityResolver
from .spelling import Speller

if TYPE_CHECKING:  # scikit-learn and crfsuite load only when a model is trained or loaded
    from .intent_classifier import IntentClassifier
    from .slot_filler import SlotFiller

# Built-ins every CRF sees as features, whatever the intent's slot types: a
# custom slot often holds a date or a number ("timeRange", "party_size"), or
# a place ("city", "state"): place names are the knowledge of the world that
# a few examples cannot teach (+0.026 F1 per slot with 70 examples per intent).
CRF_BUILTINS = frozenset({"snips/number", "snips/ordinal", "snips/datetime", *places.KINDS})


@dataclass(frozen=True)
class FitOptions:
    """What a model is fitted with (the worker processes are not: they change
    how fast, not what)."""

    seed: int = 42
    threshold: float = 0.2  # below this probability: not understood
    noise_ratio: float = 0.5  # None-class sentences per intent, relative to its average size
    deterministic: bool = True  # the exact stage


@dataclass(frozen=True)
class Model:
    """One language's fitted interpreter, as data."""

    lang: str
    options: FitOptions
    intents: tuple[str, ...]
    slot_entities: Mapping[str, Mapping[str, str]]  # intent -> slot -> entity
    gazetteers: Mapping[str, Gazetteer]  # entity -> known values
    resolvers: Mapping[str, EntityResolver]  # custom entity -> its resolver
    matcher: EntityMatcher
    deterministic: DeterministicMatcher | None  # None: the exact stage is off
    classifier: IntentClassifier
    fillers: Mapping[str, SlotFiller]  # intent with slots -> its CRF
    coverage: Coverage  # the vocabulary check
    function: frozenset[str]  # the language's function words
    speller: Speller | None  # None: slips are not corrected
