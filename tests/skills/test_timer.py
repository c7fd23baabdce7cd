"""The timer skill: its logic with no broker, then whole conversations through the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas.nlu.entities.durations import parse_duration
from atlas.protocol import ChannelShow, DialogAsk, DialogNotify, DialogShow
from atlas.sdk.loader import load_skill_module
from atlas.sdk.testing import Recorder, SkillTester

timer = load_skill_module(Path(__file__).parents[2] / "skills" / "timer")


@pytest.mark.parametrize(("seconds", "lang", "text"), [
    (1, "en", "1 second"),
    (600, "en", "10 minutes"),
    (3725, "en", "1 hour, 2 minutes and 5 seconds"),
    (7200, "fr", "2 heures"),
    (90, "fr", "1 minute et 30 secondes"),
    (0.3, "en", "1 second"),
])
def test_humanize(seconds: float, lang: str, text: str) -> None:
    assert timer.humanize(seconds, lang) == text


@pytest.mark.parametrize(("seconds", "lang", "text"), [
    (30, "en", "30-second"), (60, "en", "1-minute"), (5400, "en", "1-hour-30-minute"),
    (3725, "en_GB", "1-hour-2-minute-5-second"), (30, "fr", "30 secondes"),
])
def test_a_duration_before_timer(seconds: float, lang: str, text: str) -> None:
    assert timer.as_adjective(seconds, lang) == text


@given(st.integers(min_value=1, max_value=7 * 24 * 3600), st.sampled_from(["en", "fr"]))
def test_what_the_timer_says_the_interpreter_understands(seconds: int, lang: str) -> None:
    # A user repeating a duration the skill said gets the same timer.
    assert parse_duration(timer.humanize(seconds, lang), lang) == seconds


@pytest.mark.parametrize(("value", "seconds"), [
    (600, 600.0), (1.5, 1.5), ("90", 90.0), ({"seconds": 30}, 30.0),
    ("ten minutes", None), (None, None), (True, None), ([], None),
])
def test_duration_values(value: object, seconds: float | None) -> None:
    assert timer.seconds_of(value) == seconds


async def test_asks_then_confirms_then_rings() -> None:
    recorder = Recorder(timer.skill, sid="unit-timer")
    [ask] = await recorder.call("set_timer")
    assert isinstance(ask, DialogAsk) and ask.slot == "duration" and ask.text == "For how long?"
    [ask] = await recorder.call("set_timer", duration=0.05)
    assert isinstance(ask, DialogAsk) and ask.slot is None
    assert (ask.text, ask.choices) == ("Start a timer for 1 second?", ("yes", "no"))
    out = await recorder.call("set_timer", duration=0.05, choice="no")
    assert Recorder.describe(out) == [("show", "OK, no timer."), ("terminate", None)]
    out = await recorder.call("set_timer", duration=0.05, choice="yes")
    assert isinstance(out[0], DialogShow) and out[0].text.startswith("Timer set for 1 second")
    assert out[0].extra["cards"][0]["header"] == "Timer"
    await asyncio.gather(*recorder.tasks)
    notify = recorder.sent[-1]
    assert isinstance(notify, DialogNotify) and notify.sid == "unit-timer"
    assert notify.text == "Time's up! Your 1-second timer is done."
    # the card says what rang, without repeating the text
    [card] = notify.extra["cards"]
    assert card == {"header": "Timer", "subhead": "Done", "text": "1 second"}
    assert timer.TIMERS.of("unit-timer") == []


async def test_refuses_absurd_durations_in_french() -> None:
    recorder = Recorder(timer.skill, sid="unit-absurd")
    out = await recorder.call("set_timer", duration=-5, lang="fr")
    assert Recorder.describe(out)[0] == (
        "show", "Je ne sais régler un minuteur que d'une seconde à sept jours.")


async def test_list_and_cancel_without_broker() -> None:
    recorder = Recorder(timer.skill, sid="unit-list")
    assert Recorder.describe(await recorder.call("list_timers", lang="fr"))[0] == (
        "show", "Vous n'avez aucun minuteur en cours.")
    for seconds in (600, 600, 60):
        await recorder.call("set_timer", duration=seconds, choice="yes")
    [show, _] = await recorder.call("list_timers")
    assert isinstance(show, DialogShow) and show.text == "You have 3 timers running."
    assert [c["header"] for c in show.extra["cards"]] == ["1 minute", "10 minutes", "10 minutes"]
    [ask] = await recorder.call("cancel_timer")
    assert isinstance(ask, DialogAsk) and ask.choices is not None
    assert ask.choices[0] == "1 minute" and ask.choices[-1] == "all of them"
    assert ask.choices[1].startswith("10 minutes #")
    out = await recorder.call("cancel_timer", choice="1 minute")
    assert Recorder.describe(out)[0] == ("show", "Timer of 1 minute cancelled.")
    out = await recorder.call("cancel_timer", choice="all of them")
    assert Recorder.describe(out)[0] == ("show", "All your timers are cancelled.")
    assert timer.TIMERS.of("unit-list") == []
    await recorder.close()


CONVERSATIONS = {
    "en": ("set a timer", "For how long?", "1 second", "Start a timer for 1 second?",
           ["yes", "no"], "Timer set for 1 second", "Time's up! Your 1-second timer is done."),
    "fr": ("mets un minuteur", "Pour combien de temps ?", "1 seconde",
           "Je lance un minuteur de 1 seconde ?", ["oui", "non"], "Minuteur de 1 seconde lancé",
           "C'est l'heure ! Votre minuteur de 1 seconde est terminé."),
}


@pytest.mark.parametrize("lang", sorted(CONVERSATIONS))
async def test_asks_duration_confirms_and_rings(broker_url: str, lang: str) -> None:
    ask_timer, question, duration, confirm, choices, started, rung = CONVERSATIONS[lang]
    async with SkillTester(timer.skill, broker_url=broker_url, lang=lang) as t:
        replies = await t.say(ask_timer)
        assert replies.ask is not None
        assert (replies.ask.text, replies.ask.slot) == (question, "duration")

        replies = await t.say(duration)
        assert replies.ask is not None
        assert (replies.ask.text, replies.ask.slot) == (confirm, None)
        assert list(replies.ask.choices or ()) == choices

        replies = await t.say(choices[0])
        assert replies.reason == "nominal"
        assert replies.texts[0].startswith(started)
        assert replies.cards[0]["text"] == duration

        notification = await t.next()
        assert isinstance(notification, ChannelShow) and notification.text == rung
        assert [card["text"] for card in notification.extra["cards"]] == [duration]


async def test_declining_lists_and_cancels(broker_url: str) -> None:
    async with SkillTester(timer.skill, broker_url=broker_url) as t:
        replies = await t.say("set a timer for 5 minutes")
        assert replies.ask is not None and replies.ask.text == "Start a timer for 5 minutes?"
        assert (await t.say("no")).texts == ["OK, no timer."]

        for minutes in (10, 20):
            assert (await t.say(f"set a timer for {minutes} minutes")).ask is not None
            assert (await t.say("yes")).reason == "nominal"
        replies = await t.say("list my timers")
        assert replies.texts == ["You have 2 timers running."]
        assert [card["header"] for card in replies.cards] == ["10 minutes", "20 minutes"]

        replies = await t.say("delete my timers")
        assert replies.ask is not None
        assert list(replies.ask.choices or ()) == ["10 minutes", "20 minutes", "all of them"]
        assert (await t.say("all of them")).texts == ["All your timers are cancelled."]
        assert (await t.say("list my timers")).texts == ["You have no timer running."]
