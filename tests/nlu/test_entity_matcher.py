from __future__ import annotations

from datetime import datetime

from atlas.nlu.entity_matcher import EntityMatcher
from atlas.nlu.gazetteer import Gazetteer
from atlas.nlu.normalize import tokenize


def test_longest_match_per_entity_skipping_punctuation() -> None:
    matcher = EntityMatcher("en", {
        "city": Gazetteer([("new york", "nyc"), ("york", "york")]),
        "room": Gazetteer([("salle de bain", "sdb"), ("york", "a room called york")]),
    })
    text = "From New-York to the salle de bain, York."
    tokens = tokenize(text)
    spans = matcher.spans(text, tokens, ["city", "room"])
    found = sorted((text[tokens[a].start : tokens[b - 1].end], name) for a, b, name in spans)
    assert found == [("New-York", "city"), ("York", "city"), ("York", "room"),
                     ("York", "room"), ("salle de bain", "room")]
    assert matcher.spans(text, tokens, ["room"]) == [
        s for s in spans if s[2] == "room"]


def test_builtins_are_found_by_their_resolvers() -> None:
    matcher = EntityMatcher("fr", {"snips/duration": Gazetteer([("dix minutes", "x")])})
    text = "minuteur de vingt minutes"
    tokens = tokenize(text)
    assert matcher.spans(text, tokens, ["snips/duration"], datetime(2026, 1, 1)) == [
        (2, 4, "snips/duration")]
