"""Small pieces of the pipeline: gazetteer, BIO labels, exact stage, resolution."""

from __future__ import annotations

from atlas.nlu import Entity, EntityValue, load_chatl
from atlas.nlu.deterministic import DeterministicMatcher
from atlas.nlu.errors import TrainingDataError
from atlas.nlu.gazetteer import Gazetteer, folded_tokens
from atlas.nlu.normalize import tokenize
from atlas.nlu.resolve import EntityResolver, resolve_value
from atlas.nlu.slot_filler import decode, labels_for


def test_gazetteer_longest_match_skips_punctuation() -> None:
    gaz = Gazetteer([("new york", "nyc"), ("york", "york"), ("salle de bain", "sdb")])
    tokens = tokenize("From New-York to the salle de bain, York.")
    spans = gaz.find(folded_tokens(tokens))
    assert [(tokens[a].text, tokens[b - 1].text) for a, b in spans] == [
        ("New", "York"), ("salle", "bain"), ("York", "York")]


def test_bio_labels_and_decoding() -> None:
    tokens = tokenize("turn on the living room light")
    labels = labels_for(tokens, [(12, 23, "room")])
    assert labels == ["O", "O", "O", "B-room", "I-room", "O"]
    assert decode(labels) == [("room", 3, 5)]
    assert decode(["I-a", "I-a", "O", "B-b", "B-b"]) == [("a", 0, 2), ("b", 3, 4), ("b", 4, 5)]


def test_exact_stage_needs_known_values() -> None:
    ds = load_chatl("%[on]\n  turn on the @[room]\n%[off]\n  turn off the @[room]\n"
                    "@[room]\n  kitchen\n  living room\n")
    matcher = DeterministicMatcher(ds)
    known = {("kitchen",), ("living", "room")}

    def is_value(entity: str, a: int, b: int, words: list[str]) -> bool:
        return tuple(words[a:b]) in known

    words = ["turn", "on", "the", "living", "room"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), None) == (
        "on", [("room", "room", 3, 5)])
    words = ["turn", "on", "the", "garage"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), None) is None
    words = ["turn", "off", "the", "kitchen"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), {"on"}) is None


def test_resolution() -> None:
    room = Entity("room", [EntityValue("living room", ("lounge",))], extensible=False)
    resolver = EntityResolver(room, Gazetteer())
    assert resolver.resolve("Lounge") == "living room"
    assert resolver.resolve("livng room") == "living room"
    ok, _ = resolve_value("room", "attic", "en", {"room": resolver}, None)
    assert not ok
    assert resolve_value("snips/number", "seven", "en", {}, None) == (True, 7)
    assert resolve_value("snips/number", "lots", "en", {}, None)[0] is False
    assert resolve_value("snips/musicAlbum", "abbey road", "en", {}, None) == (True, "abbey road")


def test_error_message_without_line() -> None:
    err = TrainingDataError("boom", source="timer", lang="en")
    assert str(err) == "skill 'timer' (en): boom"
    assert str(TrainingDataError("boom")) == "training data: boom"
