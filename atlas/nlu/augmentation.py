"""Training-set augmentation for the slot filler, as Snips NLU does.

Intents with few examples get more (up to 200, and two per distinct value of
their entities): random training sentences whose slot values are swapped for
other values of the same entity (declared, synonyms or seen elsewhere), some
capitalised. The CRF thus sees each template with many
values and learns the context around a slot rather than the values themselves.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from .dataset import Chunk, Utterance

MIN_UTTERANCES = 400
CAPITALIZATION_RATIO = 0.2
VALUES_FACTOR = 2  # at most this many generated sentences per distinct entity value


def augment(
    utterances: Sequence[Utterance],
    values: Mapping[str, Sequence[str]],
    rng: random.Random,
    min_utterances: int = MIN_UTTERANCES,
) -> list[Utterance]:
    """The utterances, plus generated ones up to `min_utterances`."""
    result = list(utterances)
    with_slots = [u for u in utterances if any(c.slot for c in u.chunks)]
    # New sentences only help while they bring new values: an intent whose
    # entities have a handful of values (most skills) needs few of them, and
    # each generated sentence costs CRF training time.
    entities = {c.entity for u in with_slots for c in u.chunks if c.slot and c.entity}
    variety = sum(len(set(values.get(e, ()))) for e in entities)
    missing = min(min_utterances - len(result), VALUES_FACTOR * variety)
    if not with_slots or missing <= 0:
        return result
    for _ in range(missing):
        template = rng.choice(with_slots)
        chunks = []
        for c in template.chunks:
            pool = values.get(c.entity or "") if c.slot else None
            if not pool:
                chunks.append(c)
                continue
            text = rng.choice(pool)
            if rng.random() < CAPITALIZATION_RATIO:
                text = text.title()
            chunks.append(Chunk(text, c.slot, c.entity))
        result.append(Utterance(tuple(chunks)))
    return result
