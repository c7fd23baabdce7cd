from __future__ import annotations

from atlas.nlu.gazetteer import Gazetteer, folded_tokens
from atlas.nlu.normalize import tokenize


def test_gazetteer_longest_match_skips_punctuation() -> None:
    gaz = Gazetteer([("new york", "nyc"), ("york", "york"), ("salle de bain", "sdb")])
    tokens = tokenize("From New-York to the salle de bain, York.")
    spans = gaz.find(folded_tokens(tokens))
    assert [(tokens[a].text, tokens[b - 1].text) for a, b in spans] == [
        ("New", "York"), ("salle", "bain"), ("York", "York")]
