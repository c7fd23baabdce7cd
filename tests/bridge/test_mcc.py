"""The MCC dialect, with clients written from its document: the WebSocket (new
interaction, welcome, utterance, data, a dropped socket resumed by its interaction id,
no uid, unknown interaction) and the REST twin with its cookie."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from atlas.config import Config
from atlas.store import Store

from .dialects import add_bot, guest_stack
from .helpers import Bridge

pytestmark = pytest.mark.timeout(120)
amqtt_only = pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)


@pytest.fixture
async def bridge(bridge_config: Config, store: Store, skill_name: str
                 ) -> AsyncIterator[Bridge]:
    async with guest_stack(bridge_config, store, skill_name) as running:
        yield running


def mcc_url(bridge: Bridge, bot_id: str, **query: str) -> str:
    base = bridge.url.replace("http", "ws") + f"mcc/{bot_id}"
    return base + ("?" + urllib.parse.urlencode(query) if query else "")


async def frame(socket: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(socket.recv(), 20))


async def event(socket: ClientConnection, message: dict[str, Any]) -> Any:
    await socket.send(json.dumps(message))
    return await frame(socket)


async def refused(socket: ClientConnection) -> dict[str, Any]:
    """The error frame, then the close."""
    error = await frame(socket)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 20)
    assert isinstance(error, dict)
    return error


async def test_an_interaction_from_welcome_to_resume(bridge: Bridge) -> None:
    guest = add_bot(bridge.store, open_=True)
    async with connect(mcc_url(bridge, guest.bot.id, uid="u1", interaction="None")) as socket:
        interaction = await asyncio.wait_for(socket.recv(), 20)
        assert isinstance(interaction, str) and not interaction.startswith("{")
        welcome = await frame(socket)
        assert welcome == {"utterance": "Welcome, stranger!",
                           "payload": {"require_input": False}}
        weather = await event(socket, {"type": "utterance", "utterance": "what is the weather"})
        assert weather["utterance"] == "It is **sunny** in Paris."
        assert weather["payload"]["cards"][0]["header"] == "Paris"
        # A data action names the activity by its key: the intent is called, uninterpreted.
        echoed = await event(socket, {"type": "data", "payload": {"echo": "Bob"}})
        assert echoed["utterance"] == 'echo {"echo": "Bob"}'
        assert echoed["payload"]["session"] == {"uid": "u1"}
        # A notification after the turn is a frame of its own.
        reply = await event(socket, {"type": "data", "payload": {"remind": "tea"}})
        assert reply["utterance"] == "OK, I will remind you."
        assert await frame(socket) == {"utterance": "Reminder: tea", "payload": {}}
        ask = await event(socket, {"type": "utterance", "utterance": "set a timer"})
        assert ask == {"utterance": "Start a 5 minute timer?",
                       "payload": {"require_input": True, "choices": ["yes", "no"]}}
    # The socket dropped in the middle of a question: the interaction goes on silently.
    async with connect(mcc_url(bridge, guest.bot.id, uid="u1"),
                       additional_headers={"interaction": interaction}) as socket:
        answer = await event(socket, {"type": "data", "payload": {"choice": "yes"}})
        assert answer["utterance"] == "Timer started."
        assert answer["payload"]["require_input"] is False
        # Bad frames are answered with an error, and the socket goes on.
        assert "error" in await event(socket, {"type": "nope"})
        await socket.send("not json")
        assert "error" in await frame(socket)
        assert (await event(socket, {"type": "data", "payload": {"nothing": 1}}))[
            "utterance"] == "Sorry, I didn't understand that."


@amqtt_only
async def test_refusals(bridge: Bridge) -> None:
    guest = add_bot(bridge.store, open_=True)
    async with connect(mcc_url(bridge, guest.bot.id)) as socket:
        assert "uid" in (await refused(socket))["error"]
    async with connect(mcc_url(bridge, guest.bot.id, uid="None")) as socket:
        assert "uid" in (await refused(socket))["error"]
    async with connect(mcc_url(bridge, guest.bot.id, uid="u1", interaction="made-up")) as s:
        assert "interaction" in (await refused(s))["error"]
    # Another uid's interaction is unknown to this uid.
    async with connect(mcc_url(bridge, guest.bot.id, uid="u1")) as socket:
        theirs = await socket.recv()
    async with connect(mcc_url(bridge, guest.bot.id, uid="u2", interaction=str(theirs))) as s:
        assert "interaction" in (await refused(s))["error"]
    # A bot that is not open needs its token, as a query parameter or a Bearer header.
    closed = add_bot(bridge.store)
    async with connect(mcc_url(bridge, closed.bot.id, uid="u1")) as socket:
        assert "token" in (await refused(socket))["error"]
    async with connect(mcc_url(bridge, closed.bot.id, uid="u1", access_token=guest.token)) as s:
        assert "token" in (await refused(s))["error"]
    async with connect(mcc_url(bridge, closed.bot.id, uid="u1"),
                       additional_headers={"Authorization": f"Bearer {closed.token}"}) as s:
        assert isinstance(await s.recv(), str)
        assert (await frame(s))["utterance"] == "Welcome, stranger!"
    # The path MCC's React front end uses.
    url = bridge.url.replace("http", "ws") + f"mcc/{guest.bot.id}/use/u9"
    async with connect(url) as socket:
        await socket.recv()
        assert (await frame(socket))["utterance"] == "Welcome, stranger!"


@amqtt_only
async def test_a_flooding_socket_is_told_then_closed(bridge: Bridge) -> None:
    guest = add_bot(bridge.store, open_=True)
    why = f"too many messages: at most {bridge.config.bots.rate:g} per second"
    async with connect(mcc_url(bridge, guest.bot.id, uid="u1")) as socket:
        await socket.recv()                                 # the interaction
        await frame(socket)                                 # the welcome
        for _ in range(100):
            await socket.send(json.dumps({"type": "data", "payload": {"nothing": 1}}))
        errors = []
        with pytest.raises(ConnectionClosed):
            while True:
                reply = await frame(socket)
                if "error" in reply:
                    errors.append(reply["error"])
        # Each refused message is told; a burst's worth refused in a row ends the socket.
        assert len(errors) >= 2 * bridge.config.bots.rate and set(errors) == {why}
        assert (socket.close_code, socket.close_reason) == (1008, why)


def _post(opener: urllib.request.OpenerDirector, url: str, body: bytes, kind: str
          ) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": kind})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_the_rest_twin_with_a_cookie(bridge: Bridge) -> None:
    guest = add_bot(bridge.store, open_=True)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = bridge.url + f"mcc/{guest.bot.id}/"

    async def post(path: str, body: Any, kind: str = "application/json") -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await asyncio.to_thread(_post, opener, base + path, raw, kind)

    status, body = await post("event", {"type": "utterance", "utterance": "hello"})
    assert status == 400 and "initialized" in body["error"]
    # MCC's own REST client sends the uid form-encoded.
    status, body = await post("init", b"uid=u1", "application/x-www-form-urlencoded")
    assert status == 200, body
    assert body["utterance"] == "Welcome, stranger!" and body["interaction"]
    assert [cookie.name for cookie in jar] == ["mcc_interaction"]
    status, body = await post("event", {"type": "utterance", "utterance": "set a timer"})
    assert (status, body["payload"]["choices"]) == (200, ["yes", "no"])
    status, body = await post("event", {"type": "utterance", "utterance": "yes"})
    assert (status, body["utterance"]) == (200, "Timer started.")
    status, body = await post("event", {"type": "data", "payload": {"echo": 42}})
    assert (status, body["utterance"]) == (200, 'echo {"echo": 42}')
    status, body = await post("event", {"type": "what"})
    assert status == 400 and "type" in body["error"]
    status, body = await post("init", {})
    assert status == 400 and "uid" in body["error"]


@amqtt_only
async def test_sessions_per_bot_are_bounded(bridge_config: Config, store: Store,
                                            skill_name: str) -> None:
    from dataclasses import replace

    from atlas.config import Bots

    config = replace(bridge_config, bots=Bots(sessions=1))
    guest = add_bot(store, open_=True)
    async with guest_stack(config, store, skill_name) as bridge:
        async with connect(mcc_url(bridge, guest.bot.id, uid="u1")) as socket:
            first = await socket.recv()
            assert (await frame(socket))["utterance"]
        async with connect(mcc_url(bridge, guest.bot.id, uid="u2")) as socket:
            assert "sessions" in (await refused(socket))["error"]
        # The session there is still served.
        async with connect(mcc_url(bridge, guest.bot.id, uid="u1", interaction=str(first))) \
                as socket:
            answer = await event(socket, {"type": "utterance", "utterance": "who am i"})
            assert answer["utterance"] == 'You are {"uid": "u1"}'
