from __future__ import annotations

from atlas.nlu.features import bio_tags, sentence_features
from atlas.nlu.normalize import stemmer_for, tokenize


def test_features_include_context_shape_and_entity_tags() -> None:
    tokens = tokenize("Turn on the living room")
    tags = bio_tags(len(tokens), [(3, 5, "room")])
    assert tags[3] == ["room:B"] and tags[4] == ["room:I"] and tags[0] == []
    feats = sentence_features(tokens, stemmer_for("en"), tags)
    assert "w=turn" in feats[0] and "sh=Xx" in feats[0] and "w-1=<pad>" in feats[0]
    assert "e=room:B" in feats[3] and "e+1=room:B" in feats[2] and "e-1=room:I" not in feats[3]
    assert "w1=room" in feats[3] and "s=live" in feats[3]


def test_runs_of_capitalised_words_are_marked() -> None:
    tokens = tokenize("Play Heroes of Might & Magic now and The Wall")
    feats = sentence_features(tokens, stemmer_for("en"), bio_tags(len(tokens), []))
    caps = [next((f for f in fs if f.startswith("cap=")), "") for fs in feats]
    # The first word is capitalised anyway; glue words join a run, not end it.
    assert caps == ["", "cap=B", "cap=I", "cap=I", "cap=I", "cap=E", "", "", "cap=B", "cap=E"]
