"""The AIDA dialect with the official ``phoenix`` client, run in Node: the document's
sample flow end to end, in both serializer versions; then frames written by hand for
what the client would never send (isolation, bad frames)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from atlas.config import Config
from atlas.store import Store

from .dialects import PNG, add_bot, guest_stack, node_ready, run_node
from .helpers import Bridge

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def bridge(bridge_config: Config, store: Store, skill_name: str
                 ) -> AsyncIterator[Bridge]:
    async with guest_stack(bridge_config, store, skill_name) as running:
        yield running


@pytest.mark.parametrize("vsn", ["2.0.0", "1.0.0"])
async def test_the_documents_sample_flow_with_the_phoenix_client(
        bridge: Bridge, tmp_path: Path, vsn: str) -> None:
    if not node_ready():
        # Skipped on a developer's machine without Node; on CI a skip would be a
        # test nobody runs, so there it fails.
        reason = "node and `npm ci --prefix tests/bridge/node` are needed"
        if os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}:
            pytest.fail(f"{reason}; they are required on CI", pytrace=False)
        pytest.skip(reason)
    guest = add_bot(bridge.store)
    image = tmp_path / "picture.png"
    image.write_bytes(PNG)
    report = await run_node("aida_flow.js", bridge.url, guest.bot.id, guest.token, vsn,
                            str(image))
    assert report["wrong_token"] == {"status": "error", "resp": {"reason": "unauthorized"}}
    assert report["join"]["status"] == "ok"
    session = report["session"]
    assert report["welcome"] == {"session": session, "text": "Welcome Ada!"}
    assert report["weather"]["text"] == "It is **sunny** in Paris."
    assert report["weather"]["cards"][0]["header"] == "Paris"
    assert report["timer_ask"]["text"] == "Start a 5 minute timer?"
    assert report["timer_ask"]["choices"] == ["yes", "no"]
    assert report["timer_yes"]["text"] == "Timer started."
    assert report["put_data"]["status"] == "ok"
    assert json.loads(report["whoami"]["text"].removeprefix("You are ")) == {
        "first_name": "Ada", "last_name": "Lovelace"}
    assert report["upload"]["status"] == 200
    image_id = report["upload"]["body"]["id"]
    assert report["download"] == {"status": 200, "type": "image/png", "bytes": len(PNG)}
    assert report["image"]["text"] == f"I see image {image_id}"
    assert report["image"]["url"].endswith(f"/content/image/{image_id}")
    assert report["image_by_msg"]["text"] == f"I see image {image_id}"
    assert report["rejoin"]["status"] == "ok"
    assert report["resumed"]["text"].startswith("You are ")
    assert report["delete"]["status"] == "ok"
    assert report["after_delete"] == {"status": "error", "resp": {"reason": "unknown session"}}
    assert report["image_after_delete"] == 404
    assert report["leave"] == "ok"
    # Nothing of the session is left in the store.
    assert bridge.store.guest_session(guest.bot.name, session) is None


class Phoenix:
    """Hand-written vsn 2.0.0 frames, for what the official client never sends."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ref = 0

    async def push(self, topic: str, event: str, payload: Any, join_ref: str | None = "1"
                   ) -> list[Any]:
        self.ref += 1
        await self.socket.send(json.dumps([join_ref, str(self.ref), topic, event, payload]))
        return await self.reply(str(self.ref))

    async def reply(self, ref: str) -> list[Any]:
        while True:
            frame = json.loads(await self.socket.recv())
            if frame[1] == ref and frame[3] == "phx_reply":
                return list(frame)

    async def raw(self, text: str) -> list[Any]:
        """Send a frame as is; the next frame that is not a push of the assistant."""
        await self.socket.send(text)
        while True:
            frame = json.loads(await self.socket.recv())
            if frame[3] != "btu_msg":
                return list(frame)


@pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)
async def test_a_guest_never_reaches_another_bots_sessions(bridge: Bridge) -> None:
    mine, theirs = add_bot(bridge.store), add_bot(bridge.store)
    url = bridge.url.replace("http", "ws") + "socket/websocket?vsn=2.0.0"
    async with connect(url) as a, connect(url) as b:
        alice, mallory = Phoenix(a), Phoenix(b)
        topic_a, topic_b = f"bot:{mine.bot.id}", f"bot:{theirs.bot.id}"
        assert (await alice.push(topic_a, "phx_join", {"access_token": mine.token}))[4][
            "status"] == "ok"
        # Another bot's token does not open this bot.
        refused = await mallory.push(topic_a, "phx_join", {"access_token": theirs.token})
        assert refused[4] == {"status": "error", "response": {"reason": "unauthorized"}}
        assert (await mallory.push(topic_b, "phx_join", {"access_token": theirs.token}))[4][
            "status"] == "ok"
        session = (await alice.push(topic_a, "new_session", {}))[4]["response"]["session"]
        # Pushing on a topic not joined, or naming a session of another bot: refused.
        unjoined = await mallory.push(topic_a, "utb_msg", {"session": session, "text": "hi"})
        assert unjoined[4] == {"status": "error", "response": {"reason": "unmatched topic"}}
        for event, payload in (("utb_msg", {"session": session, "text": "who am i"}),
                               ("put_data", {"session": session, "data": {"x": 1}}),
                               ("delete_session", {"session": session}),
                               ("utb_img", {"session": session, "image": "x"})):
            answer = await mallory.push(topic_b, event, payload)
            assert answer[4] == {"status": "error", "response": {"reason": "unknown session"}}
        # A session id holding topic levels never reaches MQTT either.
        odd = await mallory.push(topic_b, "utb_msg", {"session": "../#", "text": "hi"})
        assert odd[4]["status"] == "error"
        # Uploads to another bot's session are refused too.
        assert bridge.store.guest_session(mine.bot.name, session) is not None
        # Bad frames get an error and the socket keeps working.
        assert (await alice.raw("not json"))[3] == "phx_error"
        assert (await alice.raw('{"an": "object"}'))[3] == "phx_error"
        unknown = await alice.push(topic_a, "what", {})
        assert unknown[4]["status"] == "error"
        bad_data = await alice.push(topic_a, "put_data", {"session": session, "data": [1]})
        assert bad_data[4]["status"] == "error"
        long = await alice.push(topic_a, "utb_msg", {"session": session, "text": "x" * 2001})
        assert long[4] == {"status": "error",
                           "response": {"reason": "a text is at most 2000 characters"}}
        heartbeat = await alice.push("phoenix", "heartbeat", {}, join_ref=None)
        assert heartbeat[4] == {"status": "ok", "response": {}}
        # And the session still answers.
        await alice.push(topic_a, "utb_msg", {"session": session, "text": "who am i"})
        while True:
            frame = json.loads(await a.recv())
            if frame[3] == "btu_msg" and frame[4]["text"].startswith("You are"):
                assert frame[4]["session"] == session
                break


@pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)
async def test_heartbeats_bounds_and_oversized_frames(
        bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    from websockets.exceptions import ConnectionClosed

    from atlas.bridge import phoenix
    from atlas.bridge.messages import MAX_FRAME

    guest = add_bot(bridge.store)
    topic = f"bot:{guest.bot.id}"
    url = bridge.url.replace("http", "ws") + "socket/websocket?vsn=2.0.0"
    monkeypatch.setattr(phoenix, "HEARTBEAT_TIMEOUT", 1.5)
    async with connect(url) as silent:
        with pytest.raises(ConnectionClosed):      # no heartbeat: closed
            while True:
                await silent.recv()
    monkeypatch.setattr(phoenix, "HEARTBEAT_TIMEOUT", 60.0)
    async with connect(url) as a, connect(url) as b, connect(url) as c:
        alice, other = Phoenix(a), Phoenix(b)
        await alice.push(topic, "phx_join", {"access_token": guest.token})
        await other.push(topic, "phx_join", {"access_token": guest.token})
        session = (await alice.push(topic, "new_session", {}))[4]["response"]["session"]
        # Too many messages at once: the extra ones get an error, nothing is lost silently;
        # a burst's worth refused in a row (10 at 5 a second) is a flood: closed (1008).
        why = "too many messages: at most 5 per second"
        replies = []
        with pytest.raises(ConnectionClosed):
            while True:
                replies.append(await alice.push(topic, "utb_msg",
                                                {"session": session, "text": "who am i"}))
        errors = [r[4]["response"]["reason"] for r in replies if r[4]["status"] == "error"]
        assert len(errors) >= 10 and set(errors) == {why}
        assert (a.close_code, a.close_reason) == (1008, why)
        # An oversized frame closes a socket (1009); the other goes on.
        await Phoenix(c).push(topic, "phx_join", {"access_token": guest.token})
        await c.send(json.dumps(["1", "99", topic, "put_data",
                                 {"session": session, "data": {"x": "y" * MAX_FRAME}}]))
        with pytest.raises(ConnectionClosed):
            while True:
                await c.recv()
        assert c.close_code == 1009
        heartbeat = await other.push("phoenix", "heartbeat", {}, join_ref=None)
        assert heartbeat[4]["status"] == "ok"
        assert (await other.push(topic, "new_session", {}))[4]["status"] == "ok"
