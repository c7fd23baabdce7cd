"""How much training data one skill may bring, per language.

Training data arrives from skills over the broker: a skill, or anyone able to
publish a pong, must not be able to make the daemon train for minutes or run out
of memory. Data past these bounds is refused with a :class:`TrainingDataError`.
"""

from __future__ import annotations

#: Intents one skill may declare.
MAX_INTENTS = 200
#: Training sentences for one skill and language, after chatl's synonym expansion.
MAX_UTTERANCES = 5000
#: Values (synonyms included) of all of one skill's entities, for one language.
MAX_ENTITY_VALUES = 20000
#: Characters of one training sentence or entity value.
MAX_TEXT = 500
#: Characters of a skill's chatl text for one language.
MAX_CHATL = 256 * 1024
#: Characters of an intent, entity or slot name.
MAX_NAME = 128
