from __future__ import annotations

import pytest

from atlas.nlu import TrainingDataError, load_snips, load_training

SNIPS = {
    "language": "en",
    "intents": {
        "turnLightOn": {"utterances": [
            {"data": [{"text": "turn on the "},
                      {"text": "kitchen", "entity": "room", "slot_name": "room"},
                      {"text": " light"}]},
            {"data": [{"text": "lights on in "},
                      {"text": "5 minutes", "entity": "snips/duration", "slot_name": "delay"}]},
        ]},
    },
    "entities": {
        "room": {"data": [{"value": "kitchen", "synonyms": ["cooking room"]}],
                 "automatically_extensible": False, "use_synonyms": True,
                 "matching_strictness": 1.0},
        "snips/duration": {},
    },
}

BENCHMARK = {"GetWeather": [{"data": [
    {"text": "What will the weather be "},
    {"text": "faraway", "entity": "spatial_relation"},
    {"text": " from "},
    {"text": "here", "entity": "current_location"},
    {"text": "?"},
]}]}


def test_snips_nlu_format() -> None:
    ds = load_snips(SNIPS)
    assert ds.lang == "en"
    first, second = ds.intents["turnLightOn"]
    assert first.text == "turn on the kitchen light"
    assert [(c.slot, c.entity) for c in second.chunks if c.slot] == [("delay", "snips/duration")]
    room = ds.entities["room"]
    assert room.extensible is False and room.values[0].synonyms == ("cooking room",)
    assert "snips/duration" not in ds.entities


def test_benchmark_format_slot_name_is_entity_name() -> None:
    ds = load_training(BENCHMARK, lang="en")
    (u,) = ds.intents["GetWeather"]
    assert u.text == "What will the weather be faraway from here?"
    assert [(c.slot, c.entity) for c in u.chunks if c.slot] == [
        ("spatial_relation", "spatial_relation"), ("current_location", "current_location")]
    assert ds.entities["spatial_relation"].extensible


def test_undeclared_entity_and_empty_intent() -> None:
    bad = {"language": "en", "intents": {"a": {"utterances": [
        {"data": [{"text": "x", "entity": "room", "slot_name": "room"}]}]}}, "entities": {}}
    with pytest.raises(TrainingDataError, match="entity 'room' is not declared"):
        load_snips(bad, source="lights")
    with pytest.raises(TrainingDataError, match=r"skill 'lights' \(en\): intent 'a' has no"):
        load_snips({"language": "en", "intents": {"a": {"utterances": []}}}, source="lights")
