"""The lights skill: room matching, then zigbee2mqtt messages through the daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas.sdk.loader import load_skill_module
from atlas.sdk.request import RawPublish
from atlas.sdk.testing import Recorder, SkillTester

lights = load_skill_module(Path(__file__).parents[2] / "skills" / "lights")


@pytest.mark.parametrize(("spoken", "room"), [
    ("kitchen", "Kitchen"), ("the kitchen", "Kitchen"), ("Living Room", "living room"),
    ("kitchn", "Kitchen"), ("attic", None),
])
def test_rooms_match_loosely(spoken: str, room: str | None) -> None:
    assert lights.match_room(spoken, ["Kitchen", "living room"]) == room


def test_settings() -> None:
    assert lights.rooms_of("kitchen, bedroom ,", "en") == ["kitchen", "bedroom"]
    assert lights.rooms_of(["salon"], "fr") == ["salon"]
    assert lights.rooms_of(None, "fr") == ["salon", "cuisine", "chambre"]
    assert lights.topic_for_room(None, "kitchen") == "zigbee2mqtt/kitchen/set"
    assert lights.topic_for_room("home/{room}/light/set", "hall") == "home/hall/light/set"
    assert [lights.brightness(p) for p in (0, 50, 100, 150, -3)] == [0, 127, 254, 254, 0]


async def test_everywhere_and_dim_default_without_broker() -> None:
    recorder = Recorder(lights.skill)
    env = {"LIGHTS_ROOMS": "kitchen,hall"}
    out = await recorder.call("lights_off", room="everywhere", env=env)
    assert out[:2] == [RawPublish("zigbee2mqtt/kitchen/set", b'{"state": "OFF"}'),
                       RawPublish("zigbee2mqtt/hall/set", b'{"state": "OFF"}')]
    assert Recorder.describe(out[2:]) == [("show", "Lights off: everywhere."), ("terminate", None)]
    out = await recorder.call("lights_dim", room="hall", env=env, lang="fr")
    assert out[0] == RawPublish("zigbee2mqtt/hall/set", b'{"brightness": 76}')
    assert Recorder.describe(out)[1] == ("show", "Lumière à 30 % : hall.")
    out = await recorder.call("lights_on", room="attic", env=env)
    assert Recorder.describe(out) == [("ask", "I don't know the room attic. Which room?")]


async def test_switches_rooms_through_zigbee_topics(broker_url: str) -> None:
    env = {"LIGHTS_ROOMS": "kitchen, bedroom, living room"}
    async with SkillTester(lights.skill, broker_url=broker_url, env=env,
                           watch=["zigbee2mqtt/#"]) as t:
        replies = await t.say("turn on the kitchen lights")
        assert replies.texts == ["Lights on: kitchen."] and replies.reason == "nominal"
        topic, payload = await t.published()
        assert (topic, json.loads(payload)) == ("zigbee2mqtt/kitchen/set", {"state": "ON"})

        replies = await t.say("dim the bedroom lights to 50%")
        assert replies.texts == ["Lights at 50%: bedroom."]
        topic, payload = await t.published()
        assert (topic, json.loads(payload)) == ("zigbee2mqtt/bedroom/set", {"brightness": 127})

        # No room: asked, with the configured rooms and "everywhere" as choices.
        replies = await t.say("turn off the lights")
        assert replies.ask is not None and replies.ask.slot == "room"
        assert list(replies.ask.choices or ()) == ["kitchen", "bedroom", "living room",
                                                   "everywhere"]
        replies = await t.say("living room")
        assert replies.texts == ["Lights off: living room."]
        topic, payload = await t.published()
        assert (topic, json.loads(payload)) == ("zigbee2mqtt/living room/set", {"state": "OFF"})


async def test_french_with_a_custom_topic(broker_url: str) -> None:
    env = {"LIGHTS_ROOMS": "salon, cuisine", "LIGHTS_TOPIC": "maison/{room}/lumiere"}
    async with SkillTester(lights.skill, broker_url=broker_url, lang="fr", env=env,
                           watch=["maison/#"]) as t:
        replies = await t.say("allume la lumière de la cuisine")
        assert replies.texts == ["Lumière allumée : cuisine."]
        topic, payload = await t.published()
        assert (topic, json.loads(payload)) == ("maison/cuisine/lumiere", {"state": "ON"})

        replies = await t.say("éteins la lumière partout")
        assert replies.texts == ["Lumière éteinte : partout."]
        seen = {(await t.published())[0] for _ in range(2)}
        assert seen == {"maison/salon/lumiere", "maison/cuisine/lumiere"}


async def _rooms_switched(t: SkillTester, count: int) -> set[str]:
    return {(await t.published())[0] for _ in range(count)}


@pytest.mark.parametrize("said", ["turn off all the lights", "turn the lights off everywhere",
                                  "switch off every light"])
async def test_everywhere_in_english(broker_url: str, said: str) -> None:
    env = {"LIGHTS_ROOMS": "kitchen, hall"}
    async with SkillTester(lights.skill, broker_url=broker_url, env=env,
                           watch=["zigbee2mqtt/#"]) as t:
        replies = await t.say(said)
        assert replies.texts == ["Lights off: everywhere."]
        assert await _rooms_switched(t, 2) == {"zigbee2mqtt/kitchen/set", "zigbee2mqtt/hall/set"}


@pytest.mark.parametrize(("lang", "first", "answer", "done"), [
    ("en", "turn on the lights", "all of them", "Lights on: everywhere."),
    ("en", "turn on the lights", "all the lights", "Lights on: everywhere."),
    ("en", "turn on the lights", "everywhere", "Lights on: everywhere."),
    ("fr", "allume la lumière", "toutes", "Lumière allumée : partout."),
    ("fr", "allume la lumière", "toutes les pièces", "Lumière allumée : partout."),
])
async def test_everywhere_answers_which_room(broker_url: str, lang: str, first: str,
                                             answer: str, done: str) -> None:
    env = {"LIGHTS_ROOMS": "kitchen, hall"}
    async with SkillTester(lights.skill, broker_url=broker_url, env=env, lang=lang,
                           watch=["zigbee2mqtt/#"]) as t:
        replies = await t.say(first)
        assert replies.ask is not None
        replies = await t.say(answer)
        assert replies.texts == [done] and replies.reason == "nominal"
        assert await _rooms_switched(t, 2) == {"zigbee2mqtt/kitchen/set", "zigbee2mqtt/hall/set"}


async def test_a_wrong_room_is_asked_again_with_the_rooms(broker_url: str) -> None:
    env = {"LIGHTS_ROOMS": "kitchen, hall"}
    async with SkillTester(lights.skill, broker_url=broker_url, env=env) as t:
        await t.say("turn on the lights")
        replies = await t.say("the attic")
        assert replies.texts == ["Sorry, that isn't one of the choices: kitchen, hall or "
                                 'everywhere. Which room? Say "cancel" to stop.']
        assert replies.ask is not None and replies.ask.choices == ("kitchen", "hall",
                                                                   "everywhere")
        assert (await t.say("cancel")).reason == "cancelled"
