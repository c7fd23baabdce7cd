"""The default engine on the lights / timer / clock skill sets (conftest.py).

Utterances here are not in the training data unless a test says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.nlu import Interpreter, SlotValue, SnipsLikeInterpreter, create_interpreter, load_chatl

from .conftest import NOW


def slots(parse) -> dict[str, list[object]]:  # type: ignore[no-untyped-def]
    return {name: [v.value for v in values] for name, values in parse.slots.items()}


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("please switch on the kitchen lights", "lights_on", {"room": ["kitchen"]}),
        ("turn off the bedroom light", "lights_off", {"room": ["bedroom"]}),
        ("could you turn the lounge lights on", "lights_on", {"room": ["living room"]}),
        ("set a timer for 20 minutes", "set_timer", {"duration": [1200]}),
        ("start a timer of two hours", "set_timer", {"duration": [7200]}),
        ("remind me in an hour and a half", "set_timer", {"duration": [5400]}),
        ("what time is it now", "get_time", {}),
        ("wake me up tomorrow at 7", "set_alarm", {"when": ["2026-11-23T07:00:00"]}),
        ("set an alarm at 9pm", "set_alarm", {"when": ["2026-11-22T21:00:00"]}),
    ],
)
def test_english(en_engine: SnipsLikeInterpreter, text: str, intent: str,
                 expected: dict[str, list[object]]) -> None:
    parse = en_engine.parse(text, now=NOW)
    assert parse.intent == intent
    assert slots(parse) == expected
    assert 0.0 < parse.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("allume la lumière du salon", "lights_on", {"room": ["salon"]}),
        ("éteins la chambre", "lights_off", {"room": ["chambre"]}),
        ("peux-tu allumer la cuisine", "lights_on", {"room": ["cuisine"]}),
        ("coupe les lumières de la salle de bain", "lights_off", {"room": ["salle de bain"]}),
        ("mets un minuteur de vingt minutes", "set_timer", {"duration": [1200]}),
        ("rappelle-moi dans une demi-heure", "set_timer", {"duration": [1800]}),
        ("quelle heure il est", "get_time", {}),
        ("réveille-moi demain à 7h", "set_alarm", {"when": ["2026-11-23T07:00:00"]}),
    ],
)
def test_french(fr_engine: SnipsLikeInterpreter, text: str, intent: str,
                expected: dict[str, list[object]]) -> None:
    parse = fr_engine.parse(text, now=NOW)
    assert parse.intent == intent
    assert slots(parse) == expected


def test_raw_text_is_kept(en_engine: SnipsLikeInterpreter) -> None:
    parse = en_engine.parse("could you turn the Lounge lights on", now=NOW)
    assert parse.slots["room"] == [SlotValue("living room", "Lounge", "room")]


@pytest.mark.parametrize("text", ["asdkj qwoeiu zmxn", "blorf", "xkcd qwerty zzz", "", "?!"])
def test_gibberish_is_not_understood(en_engine: SnipsLikeInterpreter, text: str) -> None:
    parse = en_engine.parse(text)
    assert parse.intent is None
    assert parse.slots == {}


def test_french_gibberish(fr_engine: SnipsLikeInterpreter) -> None:
    assert fr_engine.parse("zorglub wxq plof").intent is None


def test_training_sentence_matches_exactly(en_engine: SnipsLikeInterpreter) -> None:
    parse = en_engine.parse("switch off the garage light")
    assert (parse.intent, parse.confidence) == ("lights_off", 1.0)
    assert slots(parse) == {"room": ["garage"]}


def test_non_extensible_entity_refuses_unknown_values(en_engine: SnipsLikeInterpreter) -> None:
    parse = en_engine.parse("turn on the lights in the spaceship")
    assert parse.intent == "lights_on"
    assert "room" not in parse.slots


def test_near_miss_is_corrected(en_engine: SnipsLikeInterpreter) -> None:
    parse = en_engine.parse("turn on the lights in the kitchn")
    assert slots(parse) == {"room": ["kitchen"]}


def test_scope(en_engine: SnipsLikeInterpreter) -> None:
    assert en_engine.parse("yes please").intent == "ctx/confirm"
    scoped = en_engine.parse("sure, go ahead", scope=["ctx/confirm"])
    assert scoped.intent == "ctx/confirm"
    assert en_engine.parse("set a timer for 5 minutes", scope=["ctx/confirm"]).intent != \
        "set_timer"
    assert en_engine.parse("what time is it", scope=[]).intent is None


def test_parse_slot(en_engine: SnipsLikeInterpreter) -> None:
    assert en_engine.parse_slot("10 minutes", "set_timer", "duration") == [
        SlotValue(600, "10 minutes", "snips/duration")]
    assert en_engine.parse_slot("make it ten minutes please", "set_timer", "duration") == [
        SlotValue(600, "ten minutes", "snips/duration")]
    assert en_engine.parse_slot("kitchen", "lights_on", "room") == [
        SlotValue("kitchen", "kitchen", "room")]
    assert en_engine.parse_slot("the lounge", "lights_on", "room")[0].value == "living room"
    assert en_engine.parse_slot("the moon", "lights_on", "room") == []  # not extensible
    # an extensible custom entity takes the whole answer when nothing better matches
    assert en_engine.parse_slot(" chocolate cake ", "set_timer", "name") == [
        SlotValue("chocolate cake", "chocolate cake", "name")]
    assert en_engine.parse_slot("tomorrow at 8", "set_alarm", "when", now=NOW)[0].value == \
        "2026-11-23T08:00:00"
    assert en_engine.parse_slot("whatever", "set_timer", "duration") == []
    assert en_engine.parse_slot("10 minutes", "set_timer", "nope") == []


def test_parse_slot_french(fr_engine: SnipsLikeInterpreter) -> None:
    assert fr_engine.parse_slot("une heure", "set_timer", "duration")[0].value == 3600
    assert fr_engine.parse_slot("dans la cuisine", "lights_on", "room")[0].value == "cuisine"


def test_interface_and_factory(en_engine: SnipsLikeInterpreter) -> None:
    assert isinstance(en_engine, Interpreter)
    assert "lights_on" in en_engine.intents and "ctx/confirm" in en_engine.intents
    assert isinstance(create_interpreter("fr"), SnipsLikeInterpreter)
    with pytest.raises(ValueError, match="unknown NLU engine"):
        create_interpreter("fr", "nope")


def test_save_load_roundtrip(en_engine: SnipsLikeInterpreter, tmp_path: Path) -> None:
    en_engine.save(tmp_path / "model")
    loaded = SnipsLikeInterpreter.load(tmp_path / "model")
    for text in ["please switch on the kitchen lights", "set a timer for 20 minutes", "blorf"]:
        assert loaded.parse(text, now=NOW) == en_engine.parse(text, now=NOW)
    assert loaded.lang == "en" and loaded.intents == en_engine.intents


def test_unfitted_engine_refuses_to_parse() -> None:
    with pytest.raises(RuntimeError):
        SnipsLikeInterpreter("en").parse("hello")



def test_worker_processes(en_dataset, en_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import atlas.nlu.crf_workers as crf_workers

    monkeypatch.setattr(crf_workers, "PARALLEL_MIN_EXAMPLES", 0)
    parallel = SnipsLikeInterpreter("en", workers=2)
    parallel.fit(en_dataset)
    for text in ["please switch on the kitchen lights", "set a timer for 20 minutes", "blorf"]:
        assert parallel.parse(text, now=NOW) == en_engine.parse(text, now=NOW)


def test_a_skill_with_builtin_slots_but_no_values_trains_and_parses() -> None:
    source = "%[set_timer]\n  set a timer for @[delay]\n  start a @[delay] timer\n" \
             "%[get_time]\n  what time is it\n@[delay](type=snips/duration)\n"
    engine = SnipsLikeInterpreter("en")
    engine.fit(load_chatl(source, source="timer", lang="en"))
    parse = engine.parse("set a timer for 20 minutes")
    assert parse.intent == "set_timer"
    assert [v.value for v in parse.slots["delay"]] == [1200]
