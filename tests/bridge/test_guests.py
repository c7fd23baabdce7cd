"""Guests' sessions outlive the bridge and the daemon; uploads are checked; a guest
never reaches a real user's conversation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from typing import Any

import pytest
from brokers import running_task
from websockets.asyncio.client import ClientConnection, connect

from atlas.bridge import Link, broker_address
from atlas.bridge.bots import GuestError, Guests, TooFast
from atlas.config import Bots, Config
from atlas.daemon import serve as serve_daemon
from atlas.protocol import (
    ChannelCreate,
    ChannelDestroy,
    DialogData,
    DialogParse,
    DialogSession,
)
from atlas.store import Store

from .conftest import Person, wait_for_skill
from .dialects import PNG, add_bot, guest_skill, guest_stack
from .helpers import Bridge, conversation, running_bridge, sign_in, spy

pytestmark = [pytest.mark.timeout(150),
              pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)]


class Phoenix:
    """A vsn 2.0.0 client by hand: join, push and wait for the reply, read btu_msg."""

    def __init__(self, socket: ClientConnection, topic: str) -> None:
        self.socket, self.topic, self.ref = socket, topic, 0
        self.pushed: list[dict[str, Any]] = []

    async def push(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.ref += 1
        ref = str(self.ref)
        await self.socket.send(json.dumps(["1", ref, self.topic, event, payload]))
        while True:
            frame = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if frame[3] == "btu_msg":
                self.pushed.append(frame[4])
            elif frame[1] == ref:
                return dict(frame[4])

    async def btu(self) -> dict[str, Any]:
        if self.pushed:
            return self.pushed.pop(0)
        while True:
            frame = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if frame[3] == "btu_msg":
                return dict(frame[4])


def phoenix_url(bridge: Bridge) -> str:
    return bridge.url.replace("http", "ws") + "socket/websocket?vsn=2.0.0"


async def test_a_session_goes_on_after_bridge_and_daemon_restarts(
        bridge_config: Config, store: Store, skill_name: str) -> None:
    guest = add_bot(store)
    topic = f"bot:{guest.bot.id}"
    daemon = asyncio.create_task(serve_daemon(bridge_config, store))
    async with guest_skill(skill_name).connect(bridge_config.broker) as running, \
            running_task(running.serve()):
        async with running_bridge(bridge_config, store) as first:
            await wait_for_skill(first, skill_name)
            async with connect(phoenix_url(first)) as socket:
                client = Phoenix(socket, topic)
                assert (await client.push("phx_join", {"access_token": guest.token}))[
                    "status"] == "ok"
                reply = await client.push("new_session", {"data": {"first_name": "Ada"}})
                session = reply["response"]["session"]
                assert (await client.btu())["text"] == "Welcome Ada!"
                await client.push("put_data", {"session": session, "data": {"age": 36}})
        # A new bridge process: the session and its data come from the store.
        async with running_bridge(bridge_config, store) as second, \
                connect(phoenix_url(second)) as socket:
            client = Phoenix(socket, topic)
            await client.push("phx_join", {"access_token": guest.token})
            await client.push("utb_msg", {"session": session, "text": "who am i"})
            expected = 'You are {"age": 36, "first_name": "Ada"}'
            assert (await client.btu())["text"] == expected
            # A new daemon: the bridge creates the channel again, session data included.
            daemon.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await daemon
            async with running_task(serve_daemon(bridge_config, store)):
                await wait_for_skill(second, skill_name)
                await client.push("utb_msg", {"session": session, "text": "who am i"})
                assert (await client.btu())["text"] == expected


def _multipart(field: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _send(url: str, body: bytes | None, kind: str | None) -> tuple[int, Any, str]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None
                                     else "GET")
    if kind:
        request.add_header("Content-Type", kind)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            kind = response.headers.get("content-type", "")
            return response.status, json.loads(raw) if "json" in kind else raw, kind
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), ""


async def send(url: str, body: bytes | None = None, kind: str | None = None
               ) -> tuple[int, Any, str]:
    return await asyncio.to_thread(_send, url, body, kind)


async def test_uploads_are_checked(bridge_config: Config, store: Store, skill_name: str,
                                   alice: Person) -> None:
    config = replace(bridge_config, bots=Bots(max_image=1000))
    mine, theirs = add_bot(store), add_bot(store)
    async with guest_stack(config, store, skill_name) as bridge:
        sessions = {}
        for guest in (mine, theirs):
            async with connect(phoenix_url(bridge)) as socket:
                client = Phoenix(socket, f"bot:{guest.bot.id}")
                await client.push("phx_join", {"access_token": guest.token})
                reply = await client.push("new_session", {})
                sessions[guest.bot.name] = reply["response"]["session"]
        base = bridge.url + f"content/image/{mine.bot.id}/"
        good = base + sessions[mine.bot.name]
        status, body, _ = await send(good, *_multipart("file", PNG))
        assert status == 200, body
        status, raw, kind = await send(bridge.url + f"content/image/{body['id']}")
        assert (status, raw, kind) == (200, PNG, "image/png")
        refusals = [
            (good, _multipart("file", b"GIF not an image"), 415, "not an image"),
            (good, _multipart("file", PNG + b"\0" * 2000), 413, "limited"),
            (good, _multipart("picture", PNG), 400, "'file'"),
            (good, (b"{}", "application/json"), 415, "multipart"),
            (base + sessions[theirs.bot.name], _multipart("file", PNG), 404, "unknown"),
            (base + "made-up", _multipart("file", PNG), 404, "unknown"),
        ]
        for url, (data, kind), status, words in refusals:
            got, body, _ = await send(url, data, kind)
            assert got == status and words in body["error"], (status, body)
        assert (await send(bridge.url + "content/image/nope"))[0] == 404
        # The server goes on for everyone: a user's conversation is untouched.
        token = (await sign_in(bridge, alice.name, alice.password))["access"]
        async with conversation(bridge, token) as (client, _):
            await client.say("who am i")
            _, answer, _ = await client.expect("thinking", "answer", "done")
            assert answer["data"]["text"] == "You are {}"    # no guest's data reaches her


SPIED = (ChannelCreate, ChannelDestroy, DialogParse, DialogData, DialogSession)


async def test_refused_guests_send_nothing_to_mqtt(bridge_config: Config, store: Store,
                                                    skill_name: str) -> None:
    mine, theirs = add_bot(store), add_bot(store)
    async with guest_stack(bridge_config, store, skill_name) as bridge, \
            spy(bridge_config.broker, *SPIED) as seen:
        async with connect(phoenix_url(bridge)) as socket:
            client = Phoenix(socket, f"bot:{mine.bot.id}")
            assert (await client.push("phx_join", {"access_token": theirs.token}))[
                "status"] == "error"
            for event in ("new_session", "utb_msg", "put_data"):
                assert (await client.push(event, {"session": "x", "text": "hi",
                                                  "data": {}}))["status"] == "error"
            assert (await client.push("phx_join", {"access_token": mine.token}))[
                "status"] == "ok"
            for event in ("utb_msg", "put_data", "utb_img", "delete_session"):
                assert (await client.push(event, {"session": "made-up", "text": "hi",
                                                  "data": {}, "image": "x"}))[
                    "status"] == "error"
            # The first message the broker carries is the good session's own create.
            session = (await client.push("new_session", {}))["response"]["session"]
            first = await asyncio.wait_for(seen.get(), 20)
        assert isinstance(first, ChannelCreate) and first.uid == f"{mine.bot.name}/{session}"
        assert first.welcome is True


async def test_idle_sessions_expire_with_their_images(bridge_config: Config,
                                                      store: Store) -> None:
    guest = add_bot(store)
    now = [1_000_000.0]
    link = Link(broker_address(bridge_config))
    guests = Guests(store, link, Bots(expiry_days=30), clock=lambda: now[0])
    old = store.add_guest_session(guest.bot.name, "", {}, now[0] - 31 * 86400, limit=10)
    fresh = store.add_guest_session(guest.bot.name, "", {}, now[0] - 86400, limit=10)
    assert old is not None and fresh is not None
    image = store.add_guest_image(old.id, "image/png", PNG)
    async with running_task(link.run()), spy(bridge_config.broker, *SPIED) as seen:
        await link.wait_connected(20)
        await guests.expire()
        destroyed = await asyncio.wait_for(seen.get(), 20)
    assert destroyed == ChannelDestroy(guests.sid(guest.bot, old))
    assert store.guest_session(guest.bot.name, old.id) is None
    assert store.guest_image(image) is None
    assert store.guest_session(guest.bot.name, fresh.id) is not None


async def test_a_full_bot_gives_the_place_of_its_longest_idle_session(
        bridge_config: Config, store: Store) -> None:
    """A script filling an open bot's sessions keeps new guests out for the reclaim time,
    not for the expiry's days: then the session idle longest goes, images and channel."""
    guest = add_bot(store)
    now = [1_000_000.0]
    link = Link(broker_address(bridge_config))
    guests = Guests(store, link, Bots(sessions=2, reclaim_after=3600), clock=lambda: now[0])
    async with running_task(link.run()), spy(bridge_config.broker, *SPIED) as seen:
        await link.wait_connected(20)
        first = await guests.new_session(guest.bot)
        now[0] += 60
        second = await guests.new_session(guest.bot)
        kept = store.add_guest_image(first.id, "image/png", PNG)
        lost = store.add_guest_image(second.id, "image/png", PNG)
        now[0] += 3000              # both seen within the hour: the bot is full
        with pytest.raises(GuestError, match="2 sessions already, all active in the last hour"):
            await guests.new_session(guest.bot)
        await guests.say(guest.bot, first, "still here")      # the first one is active again
        assert isinstance(await asyncio.wait_for(seen.get(), 20), DialogParse)
        now[0] += 3601              # the second is now idle for over an hour, the first not
        third = await guests.new_session(guest.bot)
        destroyed = await asyncio.wait_for(seen.get(), 20)
    assert destroyed == ChannelDestroy(guests.sid(guest.bot, second))
    assert store.guest_session(guest.bot.name, second.id) is None
    assert store.guest_session(guest.bot.name, first.id) is not None
    assert store.guest_session(guest.bot.name, third.id) is not None
    assert store.guest_image(kept) is not None and store.guest_image(lost) is None
    never = Guests(store, link, Bots(sessions=2, reclaim_after=0), clock=lambda: now[0] + 1e6)
    with pytest.raises(GuestError, match=r"2 sessions already$"):
        await never.new_session(guest.bot)


async def test_a_bots_sessions_share_its_rate(bridge_config: Config, store: Store) -> None:
    """Opening sessions does not multiply the rate: past ``bots.bot_rate`` for all of a
    bot's guests together, their messages and new sessions are refused (and never
    reach MQTT); another bot's guests are not held back."""
    mine, theirs = add_bot(store), add_bot(store)
    link = Link(broker_address(bridge_config))
    # Each session could send 100 a second; the bot, in bursts of 2, barely refills.
    guests = Guests(store, link, Bots(rate=100, bot_rate=0.01))
    async with running_task(link.run()), spy(bridge_config.broker, DialogParse) as seen:
        await link.wait_connected(20)
        first = await guests.new_session(mine.bot)         # the bot's first of two
        await guests.say(mine.bot, first, "hello")         # and its second
        with pytest.raises(TooFast) as refused:
            await guests.new_session(mine.bot)
        assert str(refused.value) == ("too many messages: at most 0.01 per second for all "
                                      "of this bot's guests")
        assert refused.value.refusal.code == 1008
        with pytest.raises(TooFast):
            await guests.say(mine.bot, first, "again")
        other = await guests.new_session(theirs.bot)
        await guests.say(theirs.bot, other, "hi")
        said = [await asyncio.wait_for(seen.get(), 20) for _ in range(2)]
    assert [(m.sid, m.text) for m in said if isinstance(m, DialogParse)] == [
        (guests.sid(mine.bot, first), "hello"), (guests.sid(theirs.bot, other), "hi")]
    unbounded = Guests(store, link, Bots(rate=100, bot_rate=0))
    for _ in range(5):
        await unbounded.new_session(mine.bot)
