"""Typing slips, corrected toward the skills' own words."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from atlas.nlu import SnipsLikeInterpreter, load_chatl
from atlas.nlu.files import load_paths
from atlas.nlu.normalize import tokenize
from atlas.nlu.spelling import Speller

SKILLS = Path(__file__).parents[2] / "skills"

WORDS = Counter({"what": 9, "time": 5, "the": 9, "timer": 4, "timers": 1, "light": 4,
                 "kitchen": 3, "switch": 2, "minutes": 2, "tomorrow": 1, "lights": 2,
                 "item": 1, "turn": 3})


@pytest.mark.parametrize(("typed", "meant"), [
    ("waht", "what"),        # two neighbours swapped
    ("teh", "the"),          # even in a three-letter word
    ("tmer", "timer"),       # a letter dropped
    ("swicth", "switch"),
    ("kitchenn", "kitchen"),  # a letter doubled
    ("minutse", "minutes"),
    ("tomorow", "tomorrow"),
    ("tomorrw", "tomorrow"),
    ("tommorow", "tomorrow"),  # two slips in a long word
    ("tiem", "time"),        # "time" (5 uses) rather than "item" (1), both one swap away
])
def test_slips_are_corrected(typed: str, meant: str) -> None:
    assert Speller(WORDS).correct(typed) == meant


@pytest.mark.parametrize("typed", [
    "time",      # a known word
    "ok",        # too short to guess
    "10min",     # digits
    "lime",      # the first letter differs, in a short word
    "timetable",  # too far from anything
    "kitchn",    # known to the speller as an entity value: the resolver matches it
])
def test_what_is_left_alone(typed: str) -> None:
    assert Speller(WORDS, known={"kitchn"}).correct(typed) is None


def test_fix_keeps_the_tokens_and_leaves_names_alone() -> None:
    speller = Speller(WORDS)
    text = "Waht is teh time in Tme, said Tiem"
    fixed = speller.fix(text, tokenize(text), is_name=lambda word: word == "teh")
    assert fixed is not None
    fixed_text, tokens = fixed
    # The first word is corrected whatever its case; a capitalised word later is a
    # name; is_name protects the rest.
    assert fixed_text == "what is teh time in Tme, said Tiem"
    assert len(tokens) == len(tokenize(text))
    assert speller.fix("what time", tokenize("what time")) is None


@pytest.fixture(scope="module")
def bundled() -> dict[str, SnipsLikeInterpreter]:
    engines = {}
    for lang in ("en", "fr"):
        engine = SnipsLikeInterpreter(lang)
        engine.fit(load_paths(sorted(SKILLS.glob(f"*/training/{lang}.chatl")), lang))
        engines[lang] = engine
    return engines


@pytest.mark.parametrize(("lang", "typed", "intent", "slots"), [
    ("en", "waht time is it", "get_time", {}),
    ("en", "whats teh date tody", "get_date", {}),
    ("en", "swich off the bedroom light", "lights_off", {"room": [("bedroom", "bedroom")]}),
    ("en", "turn on the ligths in the kitchn", "lights_on", {"room": [("kitchen", "kitchn")]}),
    ("en", "set a timr for 10 minuts", "set_timer", {"duration": [(600, "10 minuts")]}),
    ("en", "how mnay timers do I have", "list_timers", {}),
    ("fr", "quelle heur est-il", "get_time", {}),
    ("fr", "quel jour somme nous", "get_date", {}),
    ("fr", "allume la lumiere de la cusine", "lights_on", {"room": [("cuisine", "cusine")]}),
    ("fr", "lance un minuteur de trios minutes", "set_timer",
     {"duration": [(180, "trios minutes")]}),
])
def test_slipped_requests_are_understood(bundled: dict[str, SnipsLikeInterpreter], lang: str,
                                         typed: str, intent: str,
                                         slots: dict[str, list[tuple[object, str]]]) -> None:
    parse = bundled[lang].parse(typed)
    assert parse.text == typed
    assert parse.intent == intent
    assert {k: [(v.value, v.raw) for v in vs] for k, vs in parse.slots.items()} == slots


@pytest.mark.parametrize(("lang", "typed"), [
    ("en", "waht is the capital of France"),
    ("en", "tell me a jkoe"),
    ("en", "ordr a pizza"),
    ("fr", "commande une piza"),
    ("fr", "raconte-moi une blauge"),
])
def test_slipped_out_of_domain_talk_stays_not_understood(
        bundled: dict[str, SnipsLikeInterpreter], lang: str, typed: str) -> None:
    assert bundled[lang].parse(typed).intent is None


def test_no_correction_on_name_heavy_data() -> None:
    # Like the Snips benchmark: mostly one-off names, where an unknown word is
    # more likely a name than a slip. The vocabulary check is off there, and so
    # is the correction.
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
             "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
             "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray"]
    lines = ["%[play]"] + [f"  play {a} {b} by {c}"
                           for a, b, c in zip(names[0::3], names[1::3], names[2::3], strict=True)]
    lines += ["%[stop]", "  stop the music", "  stop playing"]
    engine = SnipsLikeInterpreter("en")
    engine.fit(load_chatl("\n".join(lines) + "\n", source="music", lang="en"))
    assert engine.model is not None and engine.model.speller is None


@pytest.mark.parametrize(("lang", "answer", "seconds"), [
    ("en", "10 minuts", 600),
    ("en", "for 5 mintes please", 300),
    ("fr", "une heur", 3600),
])
def test_a_slipped_answer_to_a_question(bundled: dict[str, SnipsLikeInterpreter], lang: str,
                                        answer: str, seconds: int) -> None:
    [value] = bundled[lang].parse_slot(answer, "set_timer", "duration")
    assert (value.value, value.raw) == (seconds, answer)
    assert bundled[lang].parse_slot("blah", "set_timer", "duration") == []
