"""The channel client against the real daemon, a raw-MQTT skill and both brokers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from brokers import running_daemon, watching

from atlas.channel import Channel, ChannelError
from atlas.config import Config
from atlas.protocol import (
    ChannelAsk,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    Reason,
)
from atlas.transport import Session, on


@pytest.fixture
async def daemon(config: Config) -> AsyncIterator[Config]:
    async with running_daemon(config, {"alice": "fr"}) as running:
        yield running


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
    async with Session(daemon.broker, "shared") as client:
        async with Channel(client, uid="one") as first, Channel(client, uid="two") as second:
            one, two = await asyncio.gather(first.converse("hello"), second.converse("hello"))
            # A second channel closing leaves the first one working on the shared client.
        async with Channel(client, uid="three") as third:
            three = await third.converse("hi there")
    texts = [[m.text for m in turn if isinstance(m, ChannelShow)] for turn in (one, two, three)]
    assert texts == [["Hello one"], ["Hello two"], ["Hello three"]]


async def test_the_same_sid_twice_on_one_connection_is_refused(daemon: Config) -> None:
    async with Session(daemon.broker, "shared") as client, \
            Channel(client, sid="same") as channel:
        with pytest.raises(ChannelError, match="already open"):
            async with Channel(client, sid="same"):
                pass
        assert kinds(await channel.converse("hello"))[-1] is ChannelTerminate


async def test_leaving_destroys_the_channel(daemon: Config) -> None:
    sid = f"leaving-{uuid.uuid4().hex[:6]}"
    async with watching(daemon.broker, on(ChannelDestroyed, sid=sid),
                        ChannelDestroyed) as destroyed:
        async with Channel(daemon.broker, sid=sid):
            pass
        assert await asyncio.wait_for(destroyed, 10) == ChannelDestroyed(sid)


async def test_garbage_on_the_channel_is_ignored(daemon: Config) -> None:
    async with Channel(daemon.broker) as channel, \
            Session(daemon.broker, "vandal") as vandal:
        topic = ChannelShow(channel.sid, "x").topic()
        vandal.publish_raw(topic, b"{not json")
        vandal.publish_raw(topic, b"[1, 2]")
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
