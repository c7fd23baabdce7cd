"""chatl parsing; expected structures were produced once by pychatl 2.0.4
(parser + snips adapter) on the same sources."""

from __future__ import annotations

import pytest

from atlas.nlu import Dataset, TrainingDataError, load_chatl


def summary(ds: Dataset) -> dict[str, list[tuple[str, list[tuple[str, str, str]]]]]:
    """Utterance text and slot chunks: pychatl splits text chunks differently."""
    return {
        name: [
            (u.text, [(c.slot, c.entity, c.text) for c in u.chunks if c.slot])
            for u in utterances
        ]
        for name, utterances in ds.intents.items()
    }


FORECAST = """# A comment
%[get_forecast]
  will it rain in @[city] @[dateStart]
  ~[greet?] what's the weather like in @[city#paris]
  ~[greet] tell me the weather

~[new york]
  ny
  nyc

~[greet]
  hi
  hello there

@[dateStart](type=snips/datetime)
  at the end of the day
  tomorrow

@[city](extensible=false, strictness=0.8)
  ~[new york]
  london

@[city#paris]
  paris
  paname
"""


def test_synonyms_optional_synonyms_variants_as_pychatl() -> None:
    ds = load_chatl(FORECAST)
    assert summary(ds) == {
        "get_forecast": [
            ("will it rain in new york at the end of the day",
             [("city", "city", "new york"), ("dateStart", "snips/datetime",
                                             "at the end of the day")]),
            ("what's the weather like in paris", [("city", "city", "paris")]),
            ("hi what's the weather like in paname", [("city", "city", "paname")]),
            ("hello there what's the weather like in paris", [("city", "city", "paris")]),
            ("hi tell me the weather", []),
            ("hello there tell me the weather", []),
        ]
    }
    city = ds.entities["city"]
    assert [(v.value, v.synonyms) for v in city.values] == [
        ("new york", ("ny", "nyc")), ("london", ()), ("paris", ()), ("paname", ()),
    ]
    assert city.extensible is False
    assert city.strictness == 0.8
    assert "dateStart" not in ds.entities  # a built-in


FLIGHTS = """%[book_flight](some=prop)
  fly from @[from] to @[to]
  fly to @[to] ~[when?]
  I want to go from @[from] to @[to] @[date]

%[cancel_flight]
  cancel my flight to @[to]

~[when]
  today
  right now

@[city](strictness=`0.9`)
  paris
  ~[nyc]
  berlin

@[from](type=city)
@[to](type=city)

@[date](type=datetime)
  tomorrow
  next week

~[nyc]
  new york
  big apple
"""


def test_entity_types_referencing_entities_and_builtins_as_pychatl() -> None:
    ds = load_chatl(FLIGHTS)
    assert summary(ds) == {
        "book_flight": [
            ("fly from paris to nyc", [("from", "city", "paris"), ("to", "city", "nyc")]),
            ("fly to berlin", [("to", "city", "berlin")]),
            ("fly to paris today", [("to", "city", "paris")]),
            ("fly to nyc right now", [("to", "city", "nyc")]),
            ("I want to go from berlin to paris tomorrow",
             [("from", "city", "berlin"), ("to", "city", "paris"),
              ("date", "snips/datetime", "tomorrow")]),
        ],
        "cancel_flight": [("cancel my flight to nyc", [("to", "city", "nyc")])],
    }
    assert list(ds.entities) == ["city"]
    city = ds.entities["city"]
    assert city.extensible is True and city.strictness == 0.9
    assert city.values[1].synonyms == ("new york", "big apple")


def test_comments_after_data_and_blank_lines() -> None:
    ds = load_chatl("%[hello]\n\n  hi there # a greeting\n\n  hello\n")
    assert [u.text.strip() for u in ds.intents["hello"]] == ["hi there", "hello"]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("%[a]\n  hi\n\n%[lights]\n  turn on the @[room]\n", 5, "entity @[room] is not declared"),
        ("%[a]\n  hi ~[polite]\n", 2, "synonym ~[polite] is not declared"),
        ("%[empty]\n\n%[b]\n  hi\n", 1, "intent %[empty] has no training sentences"),
        ("  orphan line\n", 1, "outside any definition"),
        ("%[broken\n  hi\n", 1, "syntax error"),
        ("%[a]\n  go to @[room]\n@[room]\n", 2, "has no values"),
    ],
)
def test_errors_name_source_language_and_line(source: str, line: int, message: str) -> None:
    with pytest.raises(TrainingDataError) as err:
        load_chatl(source, source="timer", lang="fr")
    assert err.value.line == line
    assert err.value.source == "timer" and err.value.lang == "fr"
    assert message in str(err.value)
    assert str(err.value).startswith(f"skill 'timer' (fr), line {line}: ")


BUILTINS_WITHOUT_VALUES = """
%[set_timer]
  set a timer for @[delay]
  start a @[delay] timer
  remind me @[when] about it
%[volume]
  set the volume to @[level]
@[delay](type=snips/duration)
@[when](type=datetime)
@[level](type=snips/percentage)
"""


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_builtin_entities_need_no_listed_values(lang: str) -> None:
    from atlas.nlu.entities import resolve

    ds = load_chatl(BUILTINS_WITHOUT_VALUES, source="timer", lang=lang)
    slots = [c for us in ds.intents.values() for u in us for c in u.chunks if c.slot]
    assert {(c.slot, c.entity) for c in slots} == {
        ("delay", "snips/duration"), ("when", "snips/datetime"), ("level", "snips/percentage")}
    # The examples are distinct values of the language, each of which resolves.
    assert slots[0].text != slots[1].text
    assert all(resolve(c.entity, c.text, lang) is not None for c in slots)


def test_builtin_example_lists_resolve_in_both_languages() -> None:
    from atlas.nlu.entities import resolve
    from atlas.nlu.entities.examples import builtin_examples

    for lang in ("en", "fr"):
        for entity in ("snips/number", "snips/ordinal", "snips/duration", "snips/datetime",
                       "snips/percentage"):
            examples = builtin_examples(entity, lang)
            assert len(examples) >= 5
            unresolved = [e for e in examples if resolve(entity, e, lang) is None]
            assert unresolved == [], (lang, entity)
    assert builtin_examples("snips/musicArtist", "en") == ()


def test_listed_values_of_a_builtin_win_over_the_examples() -> None:
    ds = load_chatl("%[t]\n  wait @[d]\n@[d](type=snips/duration)\n  a jiffy\n", lang="en")
    assert ds.intents["t"][0].text == "wait a jiffy"


def test_a_builtin_without_examples_still_needs_values() -> None:
    with pytest.raises(TrainingDataError, match="has no values"):
        load_chatl("%[p]\n  play @[artist]\n@[artist](type=snips/musicArtist)\n", lang="en")
