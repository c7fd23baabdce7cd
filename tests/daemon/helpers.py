"""Raw-MQTT peers for daemon tests: a skill and a channel written from the seed document.

They use raw transport sessions and JSON (no SDK), so the tests check the wire as a
third-party skill or device sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from atlas.protocol import Bye
from atlas.transport import Session, raw

CHATL_EN = """
%[get_time]
  what time is it
  what's the time
  tell me the time
  do you have the time
  what time is it now
  give me the current time

%[lights_on]
  turn on the lights in the @[room]
  switch on the @[room] lights
  turn the @[room] lights on
  lights on in the @[room]
  please turn on the @[room] light
  can you switch on the light in the @[room]
  turn on the lights
  switch the lights on

%[set_timer]
  set a timer for @[duration]
  start a timer for @[duration]
  set a timer
  start a timer
  timer for @[duration]
  wake me in @[duration]
  remind me in @[duration]
  I need a timer

@[room]
  kitchen
  bedroom
  living room
  bathroom

@[duration](type=snips/duration)
  10 minutes
  an hour
  30 seconds
  two hours and a half
"""

CHATL_FR = """
%[get_time]
  quelle heure est-il
  il est quelle heure
  donne moi l'heure
  tu as l'heure
  quelle heure il est maintenant

%[lights_on]
  allume la lumière de la @[room]
  allume les lumières dans la @[room]
  allume la @[room]
  tu peux allumer la lumière de la @[room]
  allume la lumière
  allume les lumières

%[set_timer]
  mets un minuteur de @[duration]
  lance un minuteur pour @[duration]
  mets un minuteur
  lance un minuteur
  minuteur de @[duration]
  réveille moi dans @[duration]

@[room]
  cuisine
  chambre
  salle de bain
  salon

@[duration](type=snips/duration)
  10 minutes
  une heure
  30 secondes
  deux heures et demie
"""


@dataclass
class RawSkill:
    """A skill speaking the seed protocol by hand; received requests land in ``requests``."""

    url: str
    name: str = "raw"
    intents: dict[str, list[str]] = field(default_factory=lambda: {
        "get_time": [], "lights_on": ["room"], "set_timer": ["duration"]})
    env: dict[str, str] = field(default_factory=lambda: {"LIGHTS_TOPIC": "string"})
    training: dict[str, Any] = field(default_factory=lambda: {"en": CHATL_EN, "fr": CHATL_FR})
    requests: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    client: Session | None = None
    pings: int = 0

    def pong(self) -> bytes:
        return json.dumps({"name": self.name, "author": "tests", "description": "raw skill",
                           "version": "1.0", "intents": self.intents, "env": self.env,
                           "training": self.training}).encode()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RawSkill]:
        async with Session(self.url, "raw-skill", raw=True, will=Bye(self.name)) as client:
            self.client = client
            await client.subscribe(raw("atlas/discovery/ping"))
            for intent in self.intents:
                await client.subscribe(raw(f"atlas/intents/{intent}"))
            client.publish_raw("atlas/discovery/pong", self.pong())
            task = asyncio.create_task(self._serve(client))
            try:
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _serve(self, client: Session) -> None:
        async for message in client:
            topic = message.topic
            if topic == "atlas/discovery/ping":
                self.pings += 1
                client.publish_raw("atlas/discovery/pong", self.pong())
            elif topic.removeprefix("atlas/intents/") in self.intents:
                # (amqtt also hands out retained messages nobody here asked for)
                payload = json.loads(message.payload)
                await self.requests.put((topic.removeprefix("atlas/intents/"), payload))

    async def request(self, timeout: float = 10) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.requests.get(), timeout)

    async def say(self, sid: str, kind: str, **payload: Any) -> None:
        assert self.client is not None
        self.client.publish_raw(f"atlas/{sid}/dialog/{kind}", json.dumps(payload))


@dataclass
class RawChannel:
    """A device on ``atlas/{sid}/channel/#``; received messages as (kind, payload)."""

    client: Session
    sid: str
    inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    async def send(self, kind: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        self.client.publish_raw(f"atlas/{self.sid}/{kind}", data)

    async def parse(self, text: str) -> None:
        await self.send("dialog/parse", text)

    async def next(self, timeout: float = 10) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def expect(self, *kinds: str, timeout: float = 10) -> list[dict[str, Any]]:
        """The next messages, which must be of these kinds in this order."""
        got = [await self.next(timeout) for _ in kinds]
        assert [k for k, _ in got] == list(kinds), got
        return [p for _, p in got]

    async def quiet(self, seconds: float = 0.5) -> None:
        """Nothing more arrives for a while."""
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(self.inbox.get(), seconds)
            raise AssertionError(f"unexpected {extra}")


@contextlib.asynccontextmanager
async def channels(url: str) -> AsyncIterator[ChannelFactory]:
    async with Session(url, "raw-channels", raw=True) as client:
        factory = ChannelFactory(client)
        task = asyncio.create_task(factory.route())
        try:
            yield factory
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class ChannelFactory:
    client: Session
    open: dict[str, RawChannel] = field(default_factory=dict)

    async def channel(self, sid: str, uid: str | None = "alice", *,
                      create: bool = True) -> RawChannel:
        channel = RawChannel(self.client, sid)
        self.open[sid] = channel
        await self.client.subscribe(raw(f"atlas/{sid}/channel/#"))
        if create:
            await channel.send("channel/create", {"uid": uid})
            await channel.expect("created")
        return channel

    async def route(self) -> None:
        async for message in self.client:
            levels = message.topic.split("/")
            if len(levels) != 4 or levels[2] != "channel":
                # amqtt hands a connecting client the retained messages matching
                # *anyone's* subscriptions: every peer must ignore what it did not ask for.
                continue
            sid, kind = levels[1], levels[3]
            payload = json.loads(message.payload) if message.payload else {}
            # A channel hears its own create/destroy on its wildcard: not the daemon's.
            if sid in self.open and kind not in ("create", "destroy"):
                await self.open[sid].inbox.put((kind, payload))


async def wait_skills(url: str, names: set[str], timeout: float = 20) -> dict[str, Any]:
    """Wait for the daemon's retained skills message to list exactly ``names``."""
    async with Session(url, "skills-watch", raw=True) as client:
        await client.subscribe(raw("atlas/discovery/skills"))
        async with asyncio.timeout(timeout):
            async for message in client:
                if not message.payload:
                    continue
                data: dict[str, Any] = json.loads(message.payload)
                if {s["name"] for s in data["skills"]} == names:
                    return data
    raise AssertionError("unreachable")


async def dispatch(device: RawChannel, skill: RawSkill, text: str) -> tuple[str, dict[str, Any]]:
    """Say ``text``: the channel is told of the work, the skill gets the request."""
    await device.parse(text)
    await device.expect("work")
    return await skill.request()
