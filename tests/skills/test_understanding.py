"""All four skills together, spoken to in words that are not in their training data."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.sdk.testing import Replies, SkillTester

SKILLS = Path(__file__).parents[2] / "skills"

#: (what the user says, how the answer starts, a follow-up closing a question or None)
PARAPHRASES = {
    "en": [
        ("could you tell me the time", "It's ", None),
        ("which day of the week is it today", "Today is ", None),
        ("please start a timer for 3 minutes", "Start a timer for 3 minutes?", "no"),
        ("set a timer for an hour and a half", "Start a timer for 1 hour and 30 minutes?", "no"),
        ("how many timers do I have", "You have no timer running.", None),
        ("switch the kitchen light off", "Lights off: kitchen.", None),
        ("turn the bedroom lights on please", "Lights on: bedroom.", None),
        ("dim the lights in the kitchen to 40%", "Lights at 40%: kitchen.", None),
        ("what are you capable of", "Here is what I can do, with 3 skills", None),
    ],
    "fr": [
        ("tu peux me dire l'heure", "Il est ", None),
        ("quelle date sommes-nous", "Nous sommes le ", None),
        ("lance un minuteur de trois minutes", "Je lance un minuteur de 3 minutes ?", "non"),
        ("mets un minuteur d'une heure et demie",
         "Je lance un minuteur de 1 heure et 30 minutes ?", "non"),
        ("combien de minuteurs j'ai", "Vous n'avez aucun minuteur en cours.", None),
        ("coupe la lumière de la cuisine", "Lumière éteinte : cuisine.", None),
        ("peux-tu allumer la chambre", "Lumière allumée : chambre.", None),
        ("baisse la lumière de la cuisine à 40 %", "Lumière à 40 % : cuisine.", None),
        ("que peux-tu faire", "Voici ce que je sais faire, avec 3 compétences", None),
    ],
}


@pytest.mark.parametrize("lang", sorted(PARAPHRASES))
async def test_paraphrases_reach_the_right_skill(broker_url: str, lang: str) -> None:
    async with SkillTester(*(SKILLS / name for name in ("clock", "timer", "lights", "help")),
                           broker_url=broker_url, lang=lang) as t:
        for said, answer, follow_up in PARAPHRASES[lang]:
            replies = await t.say(said)
            assert replies.texts and replies.texts[0].startswith(answer), said
            if follow_up is not None:
                assert (await t.say(follow_up)).reason == "nominal"


@pytest.mark.parametrize(("lang", "question", "new", "dropped", "answer"), [
    ("en", "turn off the lights", "what time is it",
     "OK, I'll leave that question and do what you just asked.", "It's "),
    ("fr", "éteins la lumière", "quelle heure est-il",
     "D'accord, je laisse cette question et je fais ce que vous demandez.", "Il est "),
])
async def test_a_new_request_during_a_question_is_handled_as_one(
        broker_url: str, lang: str, question: str, new: str, dropped: str,
        answer: str) -> None:
    async with SkillTester(*(SKILLS / name for name in ("clock", "lights")),
                           broker_url=broker_url, lang=lang) as t:
        assert (await t.say(question)).ask is not None
        replies = await t.say(new)
        assert replies.texts == [dropped] and replies.reason == "cancelled"
        replies = Replies(await t.channel.until_turn_ends())
        assert replies.texts[0].startswith(answer) and replies.reason == "nominal"
