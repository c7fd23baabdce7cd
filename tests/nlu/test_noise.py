from __future__ import annotations

import random

from atlas.nlu.noise import noise_utterances


def test_noise_mixes_general_words_vocabulary_and_gibberish() -> None:
    noise = noise_utterances(["lights", "kitchen"], [3, 4], 30, "fr", random.Random(1))
    assert len(noise) == 30 and all(noise)
    assert any("kitchen" in n or "lights" in n for n in noise[1::3])
