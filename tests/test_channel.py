"""The channel client against the real daemon, a raw-MQTT skill and both brokers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from atlas import mqtt
from atlas.channel import Channel, ChannelError
from atlas.config import Config
from atlas.daemon import serve
from atlas.protocol import (
    ChannelAsk,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    DialogAsk,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Message,
    Ping,
    Pong,
    Reason,
    Skills,
    parse_message,
    topic_for,
)
from atlas.store import Store

TRAINING = """
%[greet]
  hello
  hi there
  good morning
  hey atlas
  hello there my friend

%[pick_color]
  choose a color
  pick a colour for me
  I want to pick a color
  let me choose a colour
  help me pick a color
"""


def payload_of(message: aiomqtt.Message) -> bytes | str:
    return message.payload if isinstance(message.payload, bytes | str) else b""


@contextlib.asynccontextmanager
async def raw_skill(url: str, name: str) -> AsyncIterator[None]:
    """A skill written against the protocol only: greets, or asks for a colour."""
    pong = Pong(name=name, version="1.0", author="tests",
                intents={"greet": [], "pick_color": []}, training={"en": TRAINING})
    async with mqtt.client(mqtt.BrokerAddress.parse(url), name) as client:
        await client.subscribe([(Ping.subscription(), mqtt.QOS),
                                (topic_for("greet"), mqtt.QOS),
                                (topic_for("pick_color"), mqtt.QOS)])
        await mqtt.publish(client, pong)

        async def serve_skill() -> None:
            async for message in client.messages:
                parsed = parse_message(str(message.topic), payload_of(message),
                                       (Ping, IntentRequest))
                if isinstance(parsed, Ping):
                    await mqtt.publish(client, pong)
                elif isinstance(parsed, IntentRequest):
                    await answer(client, parsed)

        task = asyncio.create_task(serve_skill())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def answer(client: aiomqtt.Client, request: IntentRequest) -> None:
    sid, cid = request.sid, request.cid
    if request.intent == "greet":
        await mqtt.publish(client, DialogShow(sid, cid, f"Hello {request.uid}"))
    elif request.choice is None:
        await mqtt.publish(client, DialogAsk(sid, cid, "Which one?", choices=("red", "blue")))
        return
    else:
        await mqtt.publish(client, DialogShow(sid, cid, f"You chose {request.choice}"))
    await mqtt.publish(client, DialogTerminate(sid, cid))


async def wait_for(url: str, topic: str, accept: type[Message],
                   check: Callable[[Any], bool] = lambda _: True) -> None:
    """Subscribe, then return on the first message of the ``accept`` kind passing ``check``."""
    async with mqtt.client(mqtt.BrokerAddress.parse(url), "watch") as client:
        await client.subscribe(topic, qos=mqtt.QOS)
        async for message in client.messages:
            parsed = parse_message(str(message.topic), payload_of(message), (accept,))
            if parsed is not None and check(parsed):
                return


@pytest.fixture
async def daemon(config: Config) -> AsyncIterator[Config]:
    """The real daemon with a raw skill it has trained for."""
    store = Store.in_data_dir(config.data_dir)
    store.add_user("alice", "fr")
    skill = f"colors-{uuid.uuid4().hex[:6]}"
    pinged = asyncio.create_task(wait_for(config.broker, Ping.subscription(), Ping))
    await asyncio.sleep(0)  # let the watcher subscribe before the daemon starts
    task = asyncio.create_task(serve(config, store))
    try:
        await asyncio.wait_for(pinged, 30)
        trained = asyncio.create_task(wait_for(
            config.broker, Skills.subscription(), Skills,
            lambda skills: skill in {s.name for s in skills.skills}))
        async with raw_skill(config.broker, skill):
            await asyncio.wait_for(trained, 30)
            yield config
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()


def kinds(messages: list[object]) -> list[type]:
    return [type(message) for message in messages]


async def test_a_conversation(daemon: Config) -> None:
    async with Channel(daemon.broker, uid="bob") as channel:
        assert channel.lang == "en"  # unknown users get the default language
        messages = await channel.converse("hello")
    assert kinds(messages) == [ChannelWork, ChannelShow, ChannelTerminate]
    assert isinstance(messages[1], ChannelShow) and messages[1].text == "Hello bob"
    assert isinstance(messages[2], ChannelTerminate) and messages[2].reason is Reason.NOMINAL


async def test_the_users_language(daemon: Config) -> None:
    async with Channel(daemon.broker, uid="alice") as channel:
        assert channel.lang == "fr"


async def test_an_ask_ends_the_turn_then_the_answer_continues(daemon: Config) -> None:
    async with Channel(daemon.broker) as channel:
        asked = await channel.converse("choose a color")
        assert isinstance(asked[-1], ChannelAsk)
        assert asked[-1].choices == ("red", "blue")
        answered = await channel.converse("blue")
    shows = [m.text for m in answered if isinstance(m, ChannelShow)]
    assert shows == ["You chose blue"]
    assert isinstance(answered[-1], ChannelTerminate)


async def test_channels_sharing_a_connection_hear_only_themselves(daemon: Config) -> None:
    async with mqtt.client(mqtt.BrokerAddress.parse(daemon.broker), "shared") as client:
        async with Channel(client, uid="one") as first, Channel(client, uid="two") as second:
            one, two = await asyncio.gather(first.converse("hello"), second.converse("hello"))
            # A second channel closing leaves the first one working on the shared client.
        async with Channel(client, uid="three") as third:
            three = await third.converse("hi there")
    texts = [[m.text for m in turn if isinstance(m, ChannelShow)] for turn in (one, two, three)]
    assert texts == [["Hello one"], ["Hello two"], ["Hello three"]]


async def test_the_same_sid_twice_on_one_connection_is_refused(daemon: Config) -> None:
    async with mqtt.client(mqtt.BrokerAddress.parse(daemon.broker), "shared") as client, \
            Channel(client, sid="same") as channel:
        with pytest.raises(ChannelError, match="already open"):
            async with Channel(client, sid="same"):
                pass
        assert kinds(await channel.converse("hello"))[-1] is ChannelTerminate


async def test_leaving_destroys_the_channel(daemon: Config) -> None:
    sid = f"leaving-{uuid.uuid4().hex[:6]}"
    destroyed = asyncio.create_task(wait_for(
        daemon.broker, ChannelDestroyed.subscription(sid=sid), ChannelDestroyed))
    await asyncio.sleep(0.1)  # the watcher subscribes (a wait for readiness, not a measure)
    async with Channel(daemon.broker, sid=sid):
        pass
    await asyncio.wait_for(destroyed, 10)


async def test_garbage_on_the_channel_is_ignored(daemon: Config) -> None:
    async with Channel(daemon.broker) as channel, \
            mqtt.client(mqtt.BrokerAddress.parse(daemon.broker), "vandal") as vandal:
        topic = ChannelShow(channel.sid, "x").topic()
        await vandal.publish(topic, b"{not json", qos=mqtt.QOS)
        await vandal.publish(topic, b"[1, 2]", qos=mqtt.QOS)
        messages = await channel.converse("hello")
    assert kinds(messages) == [ChannelWork, ChannelShow, ChannelTerminate]


async def test_no_daemon_is_a_clear_error(config: Config) -> None:
    with pytest.raises(ChannelError, match="is the daemon running"):
        async with Channel(config.broker, create_timeout=0.5):
            pass


async def test_next_times_out_when_nothing_comes(daemon: Config) -> None:
    async with Channel(daemon.broker) as channel:
        with pytest.raises(TimeoutError):
            await channel.next(timeout=0.2)


async def test_a_bad_sid_fails_before_connecting() -> None:
    with pytest.raises(ValueError, match="sid"):
        Channel("mqtt://127.0.0.1:1", sid="a/b")


def test_a_bad_uid_fails_before_connecting() -> None:
    with pytest.raises(ValueError, match="uid"):
        Channel("mqtt://127.0.0.1:1", uid="")
