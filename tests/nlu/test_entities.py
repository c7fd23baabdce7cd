"""Built-in entities, English and French."""

from __future__ import annotations

from datetime import datetime

import pytest

from atlas.nlu.entities import find_spans, resolve
from atlas.nlu.normalize import tokenize

NOW = datetime(2026, 11, 22, 10, 0)  # a Sunday


@pytest.mark.parametrize(
    ("entity", "text", "lang", "value"),
    [
        ("snips/number", "twelve", "en", 12),
        ("snips/number", "douze", "fr", 12),
        ("snips/number", "3.5", "en", 3.5),
        ("snips/number", "3,5", "fr", 3.5),
        ("snips/number", "vingt et un", "fr", 21),
        ("snips/number", "kitchen", "en", None),
        ("snips/ordinal", "first", "en", 1),
        ("snips/ordinal", "3rd", "en", 3),
        ("snips/ordinal", "deuxième", "fr", 2),
        ("snips/ordinal", "première", "fr", 1),
        ("snips/percentage", "50%", "en", 50.0),
        ("snips/percentage", "fifty percent", "en", 50.0),
        ("snips/percentage", "cinquante pour cent", "fr", 50.0),
        ("snips/duration", "10 minutes", "en", 600),
        ("snips/duration", "ten seconds", "en", 10),
        ("snips/duration", "1h30", "fr", 5400),
        ("snips/duration", "an hour and a half", "en", 5400),
        ("snips/duration", "half an hour", "en", 1800),
        ("snips/duration", "2 hours 15", "en", 8100),
        ("snips/duration", "dans 10 minutes", "fr", 600),
        ("snips/duration", "une heure", "fr", 3600),
        ("snips/duration", "une demi-heure", "fr", 1800),
        ("snips/duration", "une heure et quart", "fr", 4500),
        ("snips/duration", "un quart d'heure", "fr", 900),
        ("snips/duration", "minutes", "en", None),
        ("snips/duration", "five", "en", None),
        ("snips/datetime", "tomorrow at 8", "en", "2026-11-23T08:00:00"),
        ("snips/datetime", "demain à 8h", "fr", "2026-11-23T08:00:00"),
        ("snips/datetime", "in 10 minutes", "en", "2026-11-22T10:10:00"),
        ("snips/datetime", "dans 10 minutes", "fr", "2026-11-22T10:10:00"),
        ("snips/datetime", "at 7pm", "en", "2026-11-22T19:00:00"),
        ("snips/datetime", "at 7:45 pm", "en", "2026-11-22T19:45:00"),
        ("snips/datetime", "at 8", "en", "2026-11-23T08:00:00"),  # 8:00 has passed today
        ("snips/datetime", "ce soir à neuf heures", "fr", "2026-11-22T21:00:00"),
        ("snips/datetime", "à huit heures et demie", "fr", "2026-11-23T08:30:00"),
        ("snips/datetime", "lundi prochain", "fr", "2026-11-23T00:00:00"),
        ("snips/datetime", "today", "en", "2026-11-22T00:00:00"),
        ("snips/datetime", "the kitchen", "en", None),
        # Calendar dates; without a year, the next one to come.
        ("snips/datetime", "June 16th", "en", "2027-06-16T00:00:00"),
        ("snips/datetime", "the 16th of June 2030", "en", "2030-06-16T00:00:00"),
        ("snips/datetime", "june 16, 2030", "en", "2030-06-16T00:00:00"),
        ("snips/datetime", "on december 25 at 7pm", "en", "2026-12-25T19:00:00"),
        ("snips/datetime", "may 3rd", "en", "2027-05-03T00:00:00"),
        ("snips/datetime", "le 1er mai", "fr", "2027-05-01T00:00:00"),
        ("snips/datetime", "seize juin à 8h", "fr", "2027-06-16T08:00:00"),
        ("snips/datetime", "le 25 décembre", "fr", "2026-12-25T00:00:00"),
        ("snips/datetime", "22 novembre", "fr", "2026-11-22T00:00:00"),  # today
        ("snips/datetime", "21 novembre", "fr", "2027-11-21T00:00:00"),  # passed: next year's
        ("snips/datetime", "2030-10-22", "en", "2030-10-22T00:00:00"),
        ("snips/datetime", "10/22/2030", "en", "2030-10-22T00:00:00"),  # month first
        ("snips/datetime", "22/10/2030", "fr", "2030-10-22T00:00:00"),  # day first
        ("snips/datetime", "16/06 à 9h", "fr", "2027-06-16T09:00:00"),
        ("snips/datetime", "february 30", "en", None),
        ("snips/datetime", "13/13", "fr", None),
        ("snips/datetime", "may", "en", None),  # a month alone is no date (and "may" a verb)
    ],
)
def test_resolvers(entity: str, text: str, lang: str, value: object) -> None:
    assert resolve(entity, text, lang, NOW) == value


def test_find_spans_longest_first() -> None:
    text = "set a timer for an hour and a half then call mum"
    spans = find_spans(text, tokenize(text), "snips/duration", "en", NOW)
    tokens = tokenize(text)
    assert [(text[tokens[s.start].start : tokens[s.end - 1].end], s.value) for s in spans] == [
        ("for an hour and a half", 5400)]


@pytest.mark.parametrize(("text", "lang", "span", "value"), [
    ("remind me on June 16th at 9am to call mom", "en", "June 16th at 9am",
     "2027-06-16T09:00:00"),
    ("rappelle-moi le 16 juin à 9h d'appeler maman", "fr", "le 16 juin à 9h",
     "2027-06-16T09:00:00"),
    ("wake me up on 2027-01-05 at 7", "en", "2027-01-05 at 7", "2027-01-05T07:00:00"),
])
def test_dates_are_found_in_sentences(text: str, lang: str, span: str, value: str) -> None:
    tokens = tokenize(text)
    [found] = find_spans(text, tokens, "snips/datetime", lang, NOW)
    assert text[tokens[found.start].start:tokens[found.end - 1].end] == span
    assert found.value == value


def test_may_is_not_a_date() -> None:
    text = "may I have the time"
    assert find_spans(text, tokenize(text), "snips/datetime", "en", NOW) == []


def test_unknown_builtin_is_not_resolved() -> None:
    assert resolve("snips/musicArtist", "queen", "en") is None


def test_a_date_past_the_calendar_is_no_date() -> None:
    assert resolve("snips/datetime", "in 1000000000 days", "en", NOW) is None
    assert resolve("snips/datetime", "dans 1000000000 jours", "fr", NOW) is None
