"""The help skill lists the other live skills, from the daemon's discovery message."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.protocol import Skills, SkillSummary
from atlas.sdk.loader import load_skill_module
from atlas.sdk.testing import Recorder, SkillTester

SKILLS = Path(__file__).parents[2] / "skills"
help_ = load_skill_module(SKILLS / "help")


async def test_lists_from_the_last_discovery_message() -> None:
    catalog = help_.Catalog()
    assert catalog.others() == []
    summary = SkillSummary("timer", "1.0.0", "atlas", "Sets timers.",
                           {"set_timer": ["duration"], "__fallback__": [], "ctx/x": []}, {},
                           ["en"])
    catalog.update(Skills("1", "now", (summary, SkillSummary.of(help_.skill.pong()))))
    assert [s.name for s in catalog.others()] == ["timer"]
    assert help_.abilities(summary) == ["set timer"]


async def test_knows_nothing_before_discovery() -> None:
    fresh = load_skill_module(SKILLS / "help")
    out = await Recorder(fresh.skill).call("help", lang="fr")
    assert Recorder.describe(out)[0] == ("show", "Je ne connais encore aucune compétence.")


@pytest.mark.parametrize(("lang", "question", "text", "timer"), [
    ("en", "what can you do", "Here is what I can do, with 2 skills: clock, timer.",
     "Sets timers and tells you when they are done."),
    ("fr", "qu'est-ce que tu sais faire", "Voici ce que je sais faire, avec 2 compétences : "
                                          "clock, timer.",
     "Lance des minuteurs et vous prévient quand ils sonnent."),
])
async def test_lists_the_live_skills_in_the_users_language(
        broker_url: str, lang: str, question: str, text: str, timer: str) -> None:
    fresh = load_skill_module(SKILLS / "help")
    async with SkillTester(fresh.skill, SKILLS / "clock", SKILLS / "timer",
                           broker_url=broker_url, lang=lang) as t:
        replies = await t.say(question)
        assert replies.texts == [text]
        cards = {card["header"]: card for card in replies.cards}
        assert sorted(cards) == ["clock", "timer"]
        assert cards["timer"]["text"] == timer
        assert cards["clock"]["subhead"] == "version 1.0.0"
        # no intent identifiers ("get date", "set timer") in any language
        assert not any("get date" in card["text"] or "set timer" in card["text"]
                       for card in cards.values())


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Intents: set timer"), ("fr", ""), ("fr_CA", ""),
])
async def test_a_skill_without_a_description_in_the_language(lang: str, text: str) -> None:
    summary = SkillSummary("timer", "1.0.0", "atlas", "", {"set_timer": []}, {}, ["en"])
    fresh = load_skill_module(SKILLS / "help")
    fresh.CATALOG.update(Skills("1", "now", (summary,)))
    out = await Recorder(fresh.skill).call("help", lang=lang)
    [show] = [item for item in out if type(item).__name__ == "DialogShow"]
    assert show.extra["cards"][0].get("text", "") == text


async def test_an_english_description_is_not_shown_in_french() -> None:
    summary = SkillSummary("x", "1", "", "Does things.", {"do": []}, {}, ["en"],
                           descriptions={"de": "Macht Dinge."})
    assert summary.description_in("fr") == ""
    assert summary.description_in("en_GB") == "Does things."
    assert summary.description_in("de-AT") == "Macht Dinge."
