from __future__ import annotations

import random

from atlas.nlu import Chunk, Utterance
from atlas.nlu.augmentation import augment


def test_generated_sentences_swap_slot_values() -> None:
    utterances = [Utterance((Chunk("turn on the "), Chunk("kitchen", "room", "room"))),
                  Utterance((Chunk("hello"),))]
    values = {"room": ["bedroom", "garage", "attic", "cellar", "office", "hall"]}
    result = augment(utterances, values, random.Random(0), 10)
    assert len(result) == 10 and result[:2] == utterances
    for u in result[2:]:
        slot = u.chunks[1]
        assert slot.text.lower() in values["room"] and slot.slot == "room"
    assert augment(utterances, {}, random.Random(0), 1) == utterances
    # two generated sentences per distinct value at most
    assert len(augment(utterances, {"room": ["bedroom"]}, random.Random(0), 10)) == 4
