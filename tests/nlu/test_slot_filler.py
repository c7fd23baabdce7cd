from __future__ import annotations

from atlas.nlu.normalize import tokenize
from atlas.nlu.slot_filler import decode, labels_for


def test_bio_labels_and_decoding() -> None:
    tokens = tokenize("turn on the living room light")
    labels = labels_for(tokens, [(12, 23, "room")])
    assert labels == ["O", "O", "O", "B-room", "I-room", "O"]
    assert decode(labels) == [("room", 3, 5)]
    assert decode(["I-a", "I-a", "O", "B-b", "B-b"]) == [("a", 0, 2), ("b", 3, 4), ("b", 4, 5)]
