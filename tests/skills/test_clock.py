"""The clock skill: its formatting, then spoken to through the real daemon."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from atlas.sdk.loader import load_skill_module
from atlas.sdk.testing import Recorder, SkillTester

clock = load_skill_module(Path(__file__).parents[2] / "skills" / "clock")


@pytest.mark.parametrize(("moment", "lang", "time", "date"), [
    (datetime(2026, 11, 22, 15, 5), "en", "3:05 PM", "Sunday, November 22, 2026"),
    (datetime(2026, 11, 22, 15, 5), "fr", "15 h 05", "dimanche 22 novembre 2026"),
    (datetime(2027, 2, 1, 0, 30), "en", "12:30 AM", "Monday, February 1, 2027"),
    (datetime(2027, 2, 1, 0, 30), "fr-CA", "0 h 30", "lundi 1er février 2027"),
    (datetime(2027, 8, 15, 12, 0), "de", "12:00 PM", "Sunday, August 15, 2027"),
])
def test_formats(moment: datetime, lang: str, time: str, date: str) -> None:
    assert clock.format_time(moment, lang) == time
    assert clock.format_date(moment, lang) == date


def possible(fmt: str, lang: str, tz: ZoneInfo | None, before: datetime) -> set[str]:
    """The answers valid between ``before`` and now (a minute may turn meanwhile)."""
    after = datetime.now(tz).astimezone(tz) if tz else datetime.now().astimezone()
    start = before.astimezone(tz) if tz else before
    format_ = clock.format_time if fmt == "time" else clock.format_date
    return {format_(start, lang), format_(after, lang)}


async def test_time_zone_setting_is_used() -> None:
    recorder = Recorder(clock.skill)
    tokyo = ZoneInfo("Asia/Tokyo")
    before = datetime.now().astimezone()
    [show, _] = await recorder.call("get_time", env={"CLOCK_TIMEZONE": "Asia/Tokyo"})
    expected = {f"It's {t}." for t in possible("time", "en", tokyo, before)}
    assert show.text in expected  # type: ignore[union-attr]
    # An unknown zone falls back to the host's instead of failing.
    [show, _] = await recorder.call("get_time", env={"CLOCK_TIMEZONE": "Mars/Olympus"})
    assert show.text.startswith("It's ")  # type: ignore[union-attr]


@pytest.mark.parametrize(("lang", "ask_time", "ask_date", "time_text", "date_text"), [
    ("en", "what time is it please", "what is the date today", "It's {}.", "Today is {}."),
    ("fr", "dis-moi quelle heure il est", "on est quel jour aujourd'hui",
     "Il est {}.", "Nous sommes le {}."),
])
async def test_tells_time_and_date(broker_url: str, lang: str, ask_time: str, ask_date: str,
                                   time_text: str, date_text: str) -> None:
    async with SkillTester(clock.skill, broker_url=broker_url, lang=lang) as t:
        before = datetime.now().astimezone()
        replies = await t.say(ask_time)
        assert replies.reason == "nominal"
        [show] = replies.shows
        assert show.text in {time_text.format(x) for x in possible("time", lang, None, before)}
        assert show.extra["cards"][0]["text"] in possible("time", lang, None, before)

        before = datetime.now().astimezone()
        replies = await t.say(ask_date)
        [show] = replies.shows
        assert show.text in {date_text.format(x) for x in possible("date", lang, None, before)}
        assert replies.reason == "nominal"


@pytest.mark.parametrize(("lang", "ask", "city", "zone", "answer"), [
    ("en", "what time is it in Tokyo", "Tokyo", "Asia/Tokyo", "It's {} in Tokyo."),
    ("en", "tell me the time in buenos aires", "Buenos Aires", "America/Argentina/Buenos_Aires",
     "It's {} in Buenos Aires."),
    # The French name of a large city resolves to its GeoNames name, and the answer
    # keeps the user's words.
    ("fr", "quelle heure est-il à Londres", "Londres", "Europe/London", "Il est {} à Londres."),
    ("fr", "il est quelle heure à londres", "Londres", "Europe/London", "Il est {} à Londres."),
    ("en", "what time is it in new york", "New York", "America/New_York",
     "It's {} in New York."),
    ("fr", "il est quelle heure à Montréal", "Montréal", "America/Montreal",
     "Il est {} à Montréal."),
])
async def test_time_in_a_city(broker_url: str, lang: str, ask: str, city: str, zone: str,
                              answer: str) -> None:
    tz = ZoneInfo(zone)
    async with SkillTester(clock.skill, broker_url=broker_url, lang=lang) as t:
        before = datetime.now().astimezone()
        replies = await t.say(ask)
        [show] = replies.shows
        assert show.text in {answer.format(x) for x in possible("time", lang, tz, before)}, \
            (show, replies)
        assert show.extra["cards"][0]["header"] == city


async def test_a_city_without_a_known_time_zone() -> None:
    recorder = Recorder(clock.skill)
    [show, _] = await recorder.call("get_time", city="Duxbury")
    assert show.text == "I don't know the time zone of Duxbury."  # type: ignore[union-attr]
