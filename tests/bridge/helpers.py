"""What the bridge tests run against: the real bridge, daemon, broker and an SDK skill,
plus small HTTP and WebSocket clients written only from the pytlas-server document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from atlas.bridge import serve
from atlas.config import Config
from atlas.daemon import serve as serve_daemon
from atlas.protocol import Message
from atlas.sdk import Card, Request, Skill
from atlas.store import Store
from atlas.transport import Session

DEMO_EN = """
%[weather]
  what is the weather
  how is the weather today
  what's the weather like
  tell me the weather
  weather forecast please
  is it sunny outside

%[timer]
  start a timer
  set a timer
  I need a timer
  can you start a timer
  please set a timer
  launch a timer

%[kitchen]
  go to the kitchen
  take me to the kitchen
  let's go to the kitchen
  enter the kitchen

%[kitchen/leave]
  leave the kitchen
  get out
  go back

%[markup]
  show me some markup
  print the markup test
  give me the markup
  display markup
"""

DEMO_FR = """
%[weather]
  quel temps fait-il
  quelle est la météo
  donne moi la météo
  il fait beau dehors
  la météo s'il te plaît

%[timer]
  lance un minuteur
  mets un minuteur
  démarre un minuteur
  il me faut un minuteur

%[kitchen]
  va dans la cuisine
  allons dans la cuisine
  entre dans la cuisine

%[kitchen/leave]
  sors de la cuisine
  reviens

%[markup]
  montre le balisage
  affiche le test de balisage
"""

CARD = Card(header="Paris", subhead="Sunny, 21°C", text="A nice day to go out.",
            media="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMjAiIGhlaWdodD0iNjAiPjxyZWN0IHdpZHRoPSIxMjAiIGhlaWdodD0iNjAiIGZpbGw9IiNmZmNjMzMiLz48L3N2Zz4=",
            header_link="https://example.org/paris")


def demo_skill(name: str) -> Skill:
    """A skill exercising every channel message: show with a card, a choice, a context."""
    skill = Skill(name, version="1.2.3", author="bridge tests",
                  description={"en": "Bridge demo", "fr": "Démo du pont"},
                  env={"DEMO_API_KEY": "string", "DEMO_CITY": "string",
                       "DEMO_UNITS": {"type": "string", "default": "metric",
                                      "example": "imperial",
                                      "description": {"en": "Units of temperature",
                                                      "fr": "Unités de température"}}})
    skill.training("en", DEMO_EN)
    skill.training("fr", DEMO_FR)
    skill.translations("fr", {"It is **sunny** in Paris.": "Il fait **beau** à Paris.",
                              "Start a 5 minute timer?": "Lancer un minuteur de 5 minutes ?",
                              "Timer started.": "Minuteur lancé."})

    @skill.intent("weather")
    async def weather(req: Request) -> None:
        await req.show(req._("It is **sunny** in Paris."), cards=[CARD])

    @skill.intent("timer")
    async def timer(req: Request) -> None:
        if req.choice is None:
            await req.ask_choice(req._("Start a 5 minute timer?"), ["yes", "no"])
            return
        if req.choice == "yes":
            await req.show(req._("Timer started."),
                           cards=[Card(header="Timer", text="5 minutes")])
        else:
            await req.show("No timer then.")

    @skill.intent("markup")
    async def markup(req: Request) -> None:
        # Content a channel must show as text, never interpret.
        await req.show('<img src=x onerror="window.pwned=1"> **bold**',
                       cards=[{"header": "<b>h</b>", "header_link": "javascript:alert(1)",
                               "media": "javascript:alert(2)"}])

    @skill.intent("kitchen")
    async def kitchen(req: Request) -> None:
        await req.context("kitchen")
        await req.show("You are in the kitchen.")

    @skill.intent("kitchen/leave")
    async def leave(req: Request) -> None:
        await req.context(None)
        await req.show("Back in the hall.")

    return skill


@dataclass
class Bridge:
    """A running bridge: its base address and the store it reads users from."""

    url: str
    store: Store
    config: Config

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "ws/assistant/"


@contextlib.asynccontextmanager
async def running_bridge(config: Config, store: Store) -> AsyncIterator[Bridge]:
    """``atlas.bridge.serve`` itself, on a free port."""
    address: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(config, store, announce=address.set_result))
    try:
        url = await asyncio.wait_for(asyncio.shield(address), 20)
        yield Bridge(url, store, config)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- clients ------------------------------------------------------------------------------


def _http(method: str, url: str, body: Any, token: str | None,
          headers: dict[str, str]) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) \
        else body
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in headers.items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


async def http(method: str, url: str, body: Any = None, *, token: str | None = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return await asyncio.to_thread(_http, method, url, body, token, headers or {})


async def sign_in(bridge: Bridge, username: str, password: str) -> dict[str, str]:
    status, body = await http("POST", bridge.url + "api/token",
                              {"username": username, "password": password})
    assert status == 200, body
    return dict(body)


class Client:
    """A WebSocket client of the pytlas-server protocol."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def say(self, text: str) -> None:
        await self.send({"type": "message", "message": text})

    async def next(self, timeout: float = 20) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        assert isinstance(message, dict)
        return message

    async def expect(self, *types: str, timeout: float = 20) -> list[dict[str, Any]]:
        """The next messages, which must be of these types in this order."""
        got = [await self.next(timeout) for _ in types]
        assert [m["type"] for m in got] == list(types), got
        return got

    async def closed(self, timeout: float = 20) -> tuple[int | None, str | None]:
        """Wait for the bridge to close the socket; its close code and reason."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                extra = await asyncio.wait_for(self.socket.recv(), timeout)
                raise AssertionError(f"expected a close, got {extra!r}")
        return self.socket.close_code, self.socket.close_reason


@contextlib.asynccontextmanager
async def ws_client(bridge: Bridge, *, origin: str | None = None) -> AsyncIterator[Client]:
    async with connect(bridge.ws, origin=origin, open_timeout=20,  # type: ignore[arg-type]
                       max_size=None) as socket:
        yield Client(socket)


@contextlib.asynccontextmanager
async def conversation(bridge: Bridge, token: str, *, device: str | None = None,
                       origin: str | None = None) -> AsyncIterator[tuple[Client, str]]:
    """A signed-in socket, past ``ready``; yields it with the ready language."""
    async with ws_client(bridge, origin=origin) as client:
        hello: dict[str, Any] = {"type": "authenticate", "token": token}
        if device is not None:
            hello["device"] = device
        await client.send(hello)
        ready = await client.next()
        assert ready["type"] == "ready", ready
        yield client, ready["language"]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Wait for a condition the system reaches by itself (a skill becoming live)."""
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


@contextlib.asynccontextmanager
async def skill_stack(config: Config, store: Store, skill: Skill, *,
                      bridge_config: Config | None = None) -> AsyncIterator[Bridge]:
    """Daemon, one skill and the bridge on the test's broker, the skill live and trained;
    the bridge runs with ``bridge_config`` if given (a ``state``, say)."""
    daemon = asyncio.create_task(serve_daemon(config, store))
    try:
        async with skill.connect(config.broker) as running:
            serving = asyncio.create_task(running.serve())
            try:
                async with running_bridge(bridge_config or config, store) as bridge:
                    await wait_for_skill(bridge, skill.name)
                    yield bridge
            finally:
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
    finally:
        daemon.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daemon


async def wait_for_skill(bridge: Bridge, name: str) -> None:
    """Until the daemon's retained skill list, as the bridge serves it, names the skill."""
    probe = f"probe-{uuid.uuid4().hex[:6]}"
    bridge.store.add_user(probe, "en", "probe password")
    token = (await sign_in(bridge, probe, "probe password"))["access"]

    async def live() -> bool:
        status, body = await http("GET", bridge.url + "api/skills", token=token)
        return status == 200 and name in {s["name"] for s in body["skills"]}

    await eventually(live)
    bridge.store.delete_user(probe)


@contextlib.asynccontextmanager
async def spy(url: str, *kinds: type[Message]) -> AsyncIterator[asyncio.Queue[Message]]:
    """What is published on the broker of these kinds, as protocol messages."""
    found: asyncio.Queue[Message] = asyncio.Queue()
    async with Session(url, "spy") as client:
        await client.subscribe(*kinds)

        async def read() -> None:
            async for message in client:
                if isinstance(message, kinds):
                    found.put_nowait(message)

        task = asyncio.create_task(read())
        try:
            yield found
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
