"""The daemon's protocol rules, end to end through a real broker (amqtt and Mosquitto).

The skill and the channel here speak raw MQTT written from the seed document:
what passes here works for a skill in any language.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from dataclasses import replace

import pytest
from brokers import running_task

from atlas import __version__
from atlas.config import Config
from atlas.core.phrases import say
from atlas.daemon import serve
from atlas.store import Store
from atlas.transport import Session, raw

from .helpers import ChannelFactory, RawSkill, channels, dispatch, wait_skills


async def test_discovery_announces_skills_after_training(daemon: Config) -> None:
    async with Session(daemon.broker, "watcher", raw=True) as watcher:
        await watcher.subscribe(raw("atlas/discovery/ping"))
        skill = RawSkill(daemon.broker, name=f"raw-{uuid.uuid4().hex[:6]}")
        async with skill.running():
            listed = await wait_skills(daemon.broker, {skill.name})
            async with asyncio.timeout(5):
                ping = json.loads((await anext(watcher)).payload)  # type: ignore[union-attr]
    assert ping["version"] == listed["version"] == __version__
    assert ping["started_at"] == listed["started_at"]
    (entry,) = listed["skills"]
    assert entry["intents"] == skill.intents
    assert entry["env"] == {"LIGHTS_TOPIC": "string"}
    assert entry["languages"] == ["en", "fr"]
    assert entry["author"] == "tests" and entry["version"] == "1.0"


async def test_a_skill_that_stops_or_dies_is_dropped(daemon: Config) -> None:
    """A clean stop says bye; a killed process leaves its last will, which says the same."""
    name = f"killed-{uuid.uuid4().hex[:6]}"
    script = KILLED_SKILL.format(url=daemon.broker, name=name)
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        polite = RawSkill(daemon.broker, name=f"polite-{uuid.uuid4().hex[:6]}")
        async with polite.running():
            await wait_skills(daemon.broker, {name, polite.name})
            assert polite.client is not None
            polite.client.publish_raw("atlas/discovery/bye", json.dumps({"name": polite.name}))
            await polite.client.unsubscribe(raw("atlas/discovery/ping"))
            await wait_skills(daemon.broker, {name})
        process.kill()
        await wait_skills(daemon.broker, set())
    finally:
        process.kill()
        process.wait()


KILLED_SKILL = """
import asyncio, json
from atlas.protocol import Bye
from atlas.transport import Session, raw

async def main():
    pong = json.dumps({{"name": "{name}", "intents": {{}}}})
    async with Session("{url}", "doomed", raw=True, will=Bye("{name}")) as session:
        await session.subscribe(raw("atlas/discovery/ping"))
        session.publish_raw("atlas/discovery/pong", pong)
        async for _ in session:
            session.publish_raw("atlas/discovery/pong", pong)

asyncio.run(main())
"""


async def test_a_request_carries_metadata_slots_and_defaults(
        skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    device = await devices.channel(sid, "alice")
    await device.parse("turn on the lights in the kitchen")
    assert await device.expect("work") == [{}]
    intent, request = await skill.request()
    assert intent == "lights_on"
    assert request["room"] == "kitchen"
    assert request["__sid"] == sid and request["__uid"] == "alice"
    assert request["__lang"] == "en" and request["__version"] == __version__
    assert request["__env"] == {"LIGHTS_TOPIC": None}   # declared, set nowhere
    assert request["__slots"]["room"][0]["raw"] == "kitchen"
    assert "__choice" not in request
    cid = request["__cid"]
    await skill.say(sid, "show", __cid=cid, text="Kitchen on", __private="x",
                    cards=[{"header": "Kitchen", "text": "on"}])
    (shown,) = await device.expect("show")
    assert shown == {"text": "Kitchen on", "cards": [{"header": "Kitchen", "text": "on"}]}
    await skill.say(sid, "terminate", __cid=cid)
    assert await device.expect("terminate") == [{"reason": "nominal"}]


async def test_user_language_and_settings_come_from_the_store(
        config: Config, store: Store, sid: str) -> None:
    store.add_user("bob", "fr")
    store.set_env("bob", {"LIGHTS_TOPIC": "z2m/{room}/set"})
    store.add_user("carol", "en")
    config = replace(config, env={"LIGHTS_TOPIC": "default/{room}", "OTHER": "unrelated"})
    async with running_task(serve(config, store)):
        skill = RawSkill(config.broker, name=f"raw-{uuid.uuid4().hex[:6]}")
        async with skill.running(), channels(config.broker) as devices:
            await wait_skills(config.broker, {skill.name})
            bob = await devices.channel(sid, "bob", create=False)
            await bob.send("channel/create", {"uid": "bob"})
            assert await bob.expect("created") == [{"lang": "fr"}]
            intent, request = await dispatch(bob, skill, "allume la lumière de la cuisine")
            assert (intent, request["room"], request["__lang"]) == ("lights_on", "cuisine", "fr")
            assert request["__env"] == {"LIGHTS_TOPIC": "z2m/{room}/set"}
            carol = await devices.channel(sid + "c", "carol")
            _, request = await dispatch(carol, skill, "turn on the lights in the bedroom")
            assert request["__env"] == {"LIGHTS_TOPIC": "default/{room}"}
            # an unknown uid gets default_lang and the default env values
            stranger = await devices.channel(sid + "s", "nobody-knows-me", create=False)
            await stranger.send("channel/create", {"uid": "nobody-knows-me"})
            assert await stranger.expect("created") == [{"lang": "en"}]


async def test_ask_for_a_missing_slot(skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    device = await devices.channel(sid)
    intent, first = await dispatch(device, skill, "set a timer")
    assert intent == "set_timer" and "duration" not in first
    await skill.say(sid, "ask", __cid=first["__cid"], slot="duration", text="For how long?",
                    hint="minutes")
    (asked,) = await device.expect("ask")
    assert asked == {"text": "For how long?", "slot": "duration", "hint": "minutes"}
    intent, second = await dispatch(device, skill, "10 minutes")
    assert intent == "set_timer" and second["__cid"] == first["__cid"]
    assert second["duration"] == 600
    assert second["__slots"]["duration"][0]["raw"] == "10 minutes"


async def test_a_slot_restricted_to_choices(skill: RawSkill, devices: ChannelFactory,
                                            sid: str) -> None:
    device = await devices.channel(sid)
    _, first = await dispatch(device, skill, "turn on the lights")
    cid = first["__cid"]
    await skill.say(sid, "ask", __cid=cid, slot="room", text="Which room?",
                    choices=["Kitchen", "Living room"])
    await device.expect("ask")
    await device.parse("the weather in paris")      # matches no choice: same question again
    (again,) = await device.expect("ask")
    assert again["choices"] == ["Kitchen", "Living room"]
    _, second = await dispatch(device, skill, "living room")
    assert second["room"] == "Living room" and second["__cid"] == cid


async def test_choice_without_slot_is_sent_once(skill: RawSkill, devices: ChannelFactory,
                                                sid: str) -> None:
    device = await devices.channel(sid)
    _, first = await dispatch(device, skill, "set a timer for 5 minutes")
    cid = first["__cid"]
    await skill.say(sid, "ask", __cid=cid, text="Start it?", choices=["yes", "no"])
    await device.expect("ask")
    await device.parse("bof")           # no choice matches: asked again, skill not called
    await device.expect("ask")
    assert skill.requests.empty()
    _, second = await dispatch(device, skill, "Yes")
    assert second["__choice"] == "yes" and second["duration"] == 300
    await skill.say(sid, "ask", __cid=cid, slot="duration", text="How long, again?")
    await device.expect("ask")
    _, third = await dispatch(device, skill, "2 minutes")
    assert "__choice" not in third and third["duration"] == 120


async def test_one_conversation_at_a_time(skill: RawSkill, devices: ChannelFactory,
                                          sid: str) -> None:
    device = await devices.channel(sid)
    _, first = await dispatch(device, skill, "what time is it")
    await device.parse("turn on the lights in the kitchen")   # queued behind the first
    await device.parse("turn on the lights in the bedroom")
    await device.quiet(0.3)
    assert skill.requests.empty()
    await skill.say(sid, "terminate", __cid=first["__cid"])
    await device.expect("terminate", "work")
    intent, second = await skill.request()
    assert (intent, second["room"]) == ("lights_on", "kitchen")
    assert second["__cid"] != first["__cid"]
    await skill.say(sid, "terminate", __cid=second["__cid"])
    await device.expect("terminate", "work")
    _, third = await skill.request()
    assert third["room"] == "bedroom"


async def test_messages_with_a_wrong_cid_are_dismissed(skill: RawSkill,
                                                       devices: ChannelFactory,
                                                       sid: str) -> None:
    device = await devices.channel(sid)
    _, request = await dispatch(device, skill, "what time is it")
    await skill.say(sid, "show", text="no cid")
    await skill.say(sid, "show", __cid="not-the-current-one", text="stale")
    await skill.say(sid, "ask", __cid="stale", text="?", choices=["a"])
    await skill.say(sid, "terminate", __cid="stale")
    await skill.say(sid, "context", __cid="stale", name="evil")
    await device.quiet(0.5)
    await skill.say(sid, "show", __cid=request["__cid"], text="It is noon")
    assert await device.expect("show") == [{"text": "It is noon"}]


async def test_cancel_from_a_question_and_from_work(skill: RawSkill, devices: ChannelFactory,
                                                   sid: str) -> None:
    device = await devices.channel(sid)
    _, request = await dispatch(device, skill, "set a timer")
    await skill.say(sid, "ask", __cid=request["__cid"], slot="duration", text="How long?")
    await device.expect("ask")
    await device.parse("cancel")
    shown, terminated = await device.expect("show", "terminate")
    assert terminated == {"reason": "cancelled"} and shown["text"]
    # the cancelled skill's later messages go nowhere
    await skill.say(sid, "show", __cid=request["__cid"], text="too late")
    await device.quiet(0.3)
    _, busy = await dispatch(device, skill, "what time is it")
    await device.parse("annule")            # French cancel, while the skill works: never queued
    _, terminated = await device.expect("show", "terminate")
    assert terminated == {"reason": "cancelled"}
    await skill.say(sid, "terminate", __cid=busy["__cid"])
    await device.quiet(0.3)


async def test_not_understood(skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    device = await devices.channel(sid)
    await device.parse("xq zzv plorb wibble")
    shown, terminated = await device.expect("show", "terminate")
    assert "understand" in shown["text"]
    assert terminated == {"reason": "not_understood"}
    assert skill.requests.empty()


@pytest.mark.parametrize(("lang", "off_topic", "in_domain", "intent"), [
    ("en", ["what is the capital of France", "turn up the volume"],
     "please turn on the kitchen lights", "lights_on"),
    ("fr", ["monte le volume", "bonjour"], "lance un minuteur de 10 minutes", "set_timer"),
])
async def test_off_topic_is_not_understood_and_in_domain_is_dispatched(
        skill: RawSkill, devices: ChannelFactory, store: Store, sid: str, lang: str,
        off_topic: list[str], in_domain: str, intent: str) -> None:
    # The daemon parses within the root intents' scope: the vocabulary check holds there.
    store.add_user(f"user-{lang}", lang)
    device = await devices.channel(sid, f"user-{lang}")
    for text in off_topic:
        await device.parse(text)
        shown, terminated = await device.expect("show", "terminate")
        assert terminated == {"reason": "not_understood"}, text
        assert shown["text"] == say("not_understood", lang)  # no help skill live to point to
    assert skill.requests.empty()
    got, request = await dispatch(device, skill, in_domain)
    assert got == intent and request["__lang"] == lang


async def test_fallback_skill_receives_what_nothing_understands(
        skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    fallback = RawSkill(skill.url, name=f"fallback-{uuid.uuid4().hex[:6]}",
                        intents={"__fallback__": []}, training={}, env={})
    async with fallback.running():
        await wait_skills(skill.url, {skill.name, fallback.name})
        device = await devices.channel(sid)
        intent, request = await dispatch(device, fallback, "xq zzv plorb wibble")
        assert intent == "__fallback__" and request["__text"] == "xq zzv plorb wibble"


async def test_a_silent_skill_times_out(skill: RawSkill, devices: ChannelFactory,
                                        sid: str) -> None:
    device = await devices.channel(sid)
    _, request = await dispatch(device, skill, "what time is it")
    await asyncio.sleep(1.2)                 # a show restarts the 2 s clock
    await skill.say(sid, "show", __cid=request["__cid"], text="thinking hard")
    await device.expect("show")
    await asyncio.sleep(1.2)
    await device.quiet(0.1)                  # 2.4 s after dispatch, but 1.3 s after the show
    shown, terminated = await device.expect("show", "terminate", timeout=5)
    assert terminated == {"reason": "timeout"} and "too long" in shown["text"]


async def test_an_unanswered_question_times_out(config: Config, store: Store, sid: str) -> None:
    config = replace(config, ask_timeout=1.0, skill_timeout=30.0)
    async with running_task(serve(config, store)):
        skill = RawSkill(config.broker, name=f"raw-{uuid.uuid4().hex[:6]}")
        async with skill.running(), channels(config.broker) as devices:
            await wait_skills(config.broker, {skill.name})
            device = await devices.channel(sid)
            _, request = await dispatch(device, skill, "set a timer")
            await skill.say(sid, "ask", __cid=request["__cid"], slot="duration", text="?")
            await device.expect("ask")
            _, terminated = await device.expect("show", "terminate", timeout=5)
            assert terminated == {"reason": "timeout"}


async def test_a_skill_that_leaves_mid_conversation(skill: RawSkill, devices: ChannelFactory,
                                                    sid: str) -> None:
    device = await devices.channel(sid)
    await dispatch(device, skill, "what time is it")
    assert skill.client is not None
    skill.client.publish_raw("atlas/discovery/bye", json.dumps({"name": skill.name}))
    _, terminated = await device.expect("show", "terminate")
    assert terminated == {"reason": "skill_gone"}


async def test_contexts_scope_understanding(skill: RawSkill, devices: ChannelFactory,
                                            sid: str) -> None:
    shopping = RawSkill(skill.url, name=f"shop-{uuid.uuid4().hex[:6]}",
                        intents={"shop/add_item": ["item"]}, env={},
                        training={"en": "%[shop/add_item]\n  add @[item]\n  add some @[item]\n"
                                        "  put @[item] on the list\n\n@[item]\n  milk\n"
                                        "  eggs\n  bread\n"})
    async with shopping.running():
        await wait_skills(skill.url, {skill.name, shopping.name})
        device = await devices.channel(sid)
        _, request = await dispatch(device, skill, "what time is it")
        await skill.say(sid, "context", __cid=request["__cid"], name="shop")
        assert await device.expect("context") == [{"name": "shop"}]
        await skill.say(sid, "terminate", __cid=request["__cid"])
        await device.expect("terminate")
        await device.parse("add eggs")             # understood within the context
        await device.expect("work")
        intent, added = await shopping.request()
        assert (intent, added["item"]) == ("shop/add_item", "eggs")
        await shopping.say(sid, "terminate", __cid=added["__cid"])
        await device.expect("terminate")
        await device.parse("what time is it")     # a root intent: not in the context
        _, terminated = await device.expect("show", "terminate")
        assert terminated == {"reason": "not_understood"}
        await device.parse("cancel")              # the user leaves the context
        assert await device.expect("context", "terminate") == [
            {"name": None}, {"reason": "cancelled"}]
        intent, _ = await dispatch(device, skill, "what time is it")
        assert intent == "get_time"


async def test_notifications_wait_for_the_conversation(skill: RawSkill, devices: ChannelFactory,
                                                       sid: str) -> None:
    device = await devices.channel(sid)
    await skill.say(sid, "notify", text="Timer done", sound="bell", __meta=1)
    assert await device.expect("show") == [{"text": "Timer done", "sound": "bell"}]
    _, request = await dispatch(device, skill, "what time is it")
    await skill.say(sid, "notify", text="Door open")
    await device.quiet(0.3)
    await skill.say(sid, "terminate", __cid=request["__cid"])
    terminated, shown = await device.expect("terminate", "show")
    assert (terminated, shown) == ({"reason": "nominal"}, {"text": "Door open"})


async def test_destroy_forgets_the_sid(skill: RawSkill, devices: ChannelFactory,
                                       sid: str) -> None:
    device = await devices.channel(sid)
    await device.send("channel/destroy", {})
    await device.expect("destroyed")
    await device.parse("what time is it")
    await device.quiet(0.5)
    never = await devices.channel(sid + "x", create=False)
    await never.parse("what time is it")
    await never.quiet(0.3)
    assert skill.requests.empty()


async def test_bad_input_never_stops_the_daemon(skill: RawSkill, devices: ChannelFactory,
                                                sid: str) -> None:
    device = await devices.channel(sid)
    client = devices.client
    bad = [
        ("atlas/discovery/pong", b"not json"),
        ("atlas/discovery/pong", b"[1, 2]"),
        ("atlas/discovery/pong", json.dumps({"name": 42}).encode()),
        ("atlas/discovery/pong", json.dumps({"name": "x", "intents": {"a": "b"}}).encode()),
        ("atlas/discovery/pong", json.dumps({"name": "x", "training": {"en": 5}}).encode()),
        ("atlas/discovery/bye", b"\xff\xfe"),
        (f"atlas/{sid}/channel/create", json.dumps({"uid": ["a"]}).encode()),
        (f"atlas/{sid}/channel/create", b"{}"),
        (f"atlas/{sid}/dialog/parse", b"\xff\xfe\xfd"),
        (f"atlas/{sid}/dialog/parse", b""),
        (f"atlas/{sid}/dialog/parse", b"x" * 300_000),
        (f"atlas/{sid}/dialog/ask", json.dumps({"__cid": "c", "text": "no choices"}).encode()),
        (f"atlas/{sid}/dialog/ask", json.dumps({"__cid": 5, "slot": "x"}).encode()),
        (f"atlas/{sid}/dialog/show", json.dumps({"__cid": "c", "text": {"a": 1}}).encode()),
        (f"atlas/{sid}/dialog/context", json.dumps({"__cid": "c", "name": "a/b"}).encode()),
        (f"atlas/{sid}/dialog/notify", b"null"),
        ("atlas/nosuchsid/dialog/show", json.dumps({"__cid": "c", "text": "hi"}).encode()),
        ("atlas/discovery/pong", b"{" * 2_000_000),
    ]
    for topic, payload in bad:
        client.publish_raw(topic, payload)
    await device.quiet(0.5)
    intent, _ = await dispatch(device, skill, "turn on the lights in the kitchen")
    assert intent == "lights_on"


async def test_text_arriving_before_the_first_training_waits_for_it(
        daemon: Config, devices: ChannelFactory, sid: str) -> None:
    await wait_skills(daemon.broker, set())          # the daemon is up, knowing no skill
    device = await devices.channel(sid)
    skill = RawSkill(daemon.broker, name=f"raw-{uuid.uuid4().hex[:6]}")
    async with skill.running():
        assert skill.client is not None
        # Same client as the pong: the daemon receives the text right after it,
        # while it is still training for the new skill.
        skill.client.publish_raw(f"atlas/{sid}/dialog/parse", "what time is it")
        await device.expect("work")
        intent, _ = await skill.request()
        assert intent == "get_time"


def _big_training(sentences: int = 2500) -> str:
    """A skill with enough examples that training for it takes seconds."""
    rng = random.Random(7)
    words = [f"w{i}" for i in range(400)]
    lines = ["%[play_song]"]
    lines += [f"  {' '.join(rng.sample(words, 3))} play @[song] {' '.join(rng.sample(words, 2))}"
              for _ in range(sentences)]
    lines += ["@[song]"] + [f"  song {i}" for i in range(300)]
    return "\n".join(lines) + "\n"


async def test_training_never_blocks_the_skills_already_live(
        skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    device = await devices.channel(sid)
    big = RawSkill(skill.url, name=f"{skill.name}-big", intents={"play_song": ["song"]},
                   env={}, training={"en": _big_training()})
    listed = asyncio.create_task(wait_skills(skill.url, {skill.name, big.name}, timeout=60))
    try:
        async with big.running():
            await asyncio.sleep(0.3)  # past the daemon's debounce: training is under way
            # The live skill is served meanwhile, with the interpreter trained before.
            for _ in range(3):
                intent, request = await dispatch(device, skill, "turn on the kitchen light")
                assert (intent, request["room"]) == ("lights_on", "kitchen")
                await skill.say(sid, "terminate", __cid=request["__cid"])
                await device.expect("terminate")
            assert not listed.done()  # the new skill is still being trained for
            await listed
            intent, request = await dispatch(device, big, "w1 w2 w3 play song 12 w4 w5")
            assert (intent, request["song"]) == ("play_song", "song 12")
    finally:
        listed.cancel()


async def test_an_intent_claimed_twice_is_reported_and_the_first_skill_by_name_chosen(
        skill: RawSkill, devices: ChannelFactory, sid: str) -> None:
    rival = RawSkill(skill.url, name=f"{skill.name}-rival", intents={"get_time": []}, env={},
                     training={"en": "%[get_time]\n  what time is it\n  the time please\n"})
    async with rival.running():
        listed = await wait_skills(skill.url, {skill.name, rival.name})
        assert listed["conflicts"] == {
            "get_time": {"chosen": skill.name, "claimed_by": [skill.name, rival.name]}}
        device = await devices.channel(sid)
        intent, request = await dispatch(device, skill, "what time is it")
        # The intent topic names no skill, so both hear the request; the chosen one's
        # declarations (its env keys) are what the request carries.
        assert intent == "get_time" and request["__env"] == {"LIGHTS_TOPIC": None}
