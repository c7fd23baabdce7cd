"""Remembered parses (parse_cache.py) in front of the real engine (conftest.py's skill set)."""

from __future__ import annotations

from datetime import timedelta

from atlas.nlu import Interpreter, SnipsLikeInterpreter
from atlas.nlu.dataset import Dataset
from atlas.nlu.parse_cache import CachedParses

from .conftest import NOW


def test_a_slotless_parse_is_remembered(en_engine: SnipsLikeInterpreter,
                                        en_dataset: Dataset) -> None:
    cached = CachedParses(en_engine, en_dataset)
    assert isinstance(cached, Interpreter)
    first = cached.parse("could you tell me what time it is", now=NOW)
    again = cached.parse("could you tell me what time it is", now=NOW + timedelta(days=1))
    assert first.intent == "get_time"
    assert again == first
    assert (cached.hits, cached.misses) == (1, 1)


def test_a_parse_with_slots_is_computed_each_time(en_engine: SnipsLikeInterpreter,
                                                  en_dataset: Dataset) -> None:
    # "tomorrow at 7" means another day tomorrow: never served from memory.
    cached = CachedParses(en_engine, en_dataset)
    today = cached.parse("wake me up tomorrow at 7", now=NOW)
    later = cached.parse("wake me up tomorrow at 7", now=NOW + timedelta(days=1))
    assert today.intent == later.intent == "set_alarm"
    assert today.slots["when"][0].value != later.slots["when"][0].value
    assert cached.hits == 0


def test_the_scope_is_part_of_the_key(en_engine: SnipsLikeInterpreter,
                                      en_dataset: Dataset) -> None:
    cached = CachedParses(en_engine, en_dataset)
    everywhere = cached.parse("what time is it please", now=NOW)
    nowhere = cached.parse("what time is it please", ["lights_on"], now=NOW)
    assert everywhere.intent == "get_time"
    assert nowhere.intent != "get_time"
    assert cached.hits == 0


def test_the_cache_is_bounded_and_forgets_the_oldest(en_engine: SnipsLikeInterpreter,
                                                     en_dataset: Dataset) -> None:
    cached = CachedParses(en_engine, en_dataset, size=2)
    for text in ("what time is it now", "tell me the time please", "what's the time now"):
        cached.parse(text, now=NOW)
    cached.parse("what's the time now", now=NOW)
    cached.parse("what time is it now", now=NOW)
    assert (cached.hits, cached.misses) == (1, 4)


def test_fitting_again_forgets_everything(en_engine: SnipsLikeInterpreter,
                                          en_dataset: Dataset) -> None:
    fresh = SnipsLikeInterpreter("en")
    fresh.fit(en_dataset)
    cached = CachedParses(fresh, en_dataset)
    cached.parse("what time is it now", now=NOW)
    cached.fit(en_dataset)
    cached.parse("what time is it now", now=NOW)
    assert cached.hits == 0


def test_a_slot_intent_asked_without_a_value_is_remembered(
        en_engine: SnipsLikeInterpreter, en_dataset: Dataset) -> None:
    # An intent that takes a slot, said without one: nothing in it reads the clock.
    cached = CachedParses(en_engine, en_dataset)
    first = cached.parse("turn on the lights", now=NOW)
    again = cached.parse("turn on the lights", now=NOW + timedelta(days=1))
    assert first.intent == "lights_on" and not first.slots
    assert again == first
    assert (cached.hits, cached.misses) == (1, 1)


def test_a_request_not_understood_is_remembered(en_engine: SnipsLikeInterpreter,
                                                en_dataset: Dataset) -> None:
    cached = CachedParses(en_engine, en_dataset)
    first = cached.parse("what is the capital of France", now=NOW)
    assert first.intent is None
    assert cached.parse("what is the capital of France", now=NOW) == first
    assert (cached.hits, cached.misses) == (1, 1)
