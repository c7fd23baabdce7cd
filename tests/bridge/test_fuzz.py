"""Thousands of malformed WebSocket frames on each dialect's endpoint, beside a normal
conversation through the same bridge.

Frames come from a seeded generator (the seed is in the test's id, so a failure is
replayed by running it again): random bytes as binary frames, bytes that are not
UTF-8 sent as text frames, JSON of the dialect's own messages with a wrong type at
each key in turn, nesting as deep as a frame allows (and deeper), strings past
every limit, integers too long to convert, escaped lone surrogates, and random JSON.

Each frame is answered as its dialect says: the pytlas-server socket with one
``{"type": "error"}`` (binary frames close it, 1003), Phoenix with a ``phx_error``
or an error ``phx_reply``, MCC with one ``{"error"}`` frame; frames that are not
UTF-8 close any socket (1007) and oversized ones too (1009), after which the fuzzer
connects again. Meanwhile a signed-in user keeps talking: every one of their turns
is answered, and the bridge serves new sockets at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from atlas.bridge.messages import MAX_FRAME
from atlas.config import Config
from atlas.protocol.dialog import MAX_TEXT
from atlas.store import Store

from .conftest import Person
from .dialects import GuestBot, add_bot, guest_stack
from .helpers import Bridge, conversation, sign_in

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)]

#: Frames per dialect.
FRAMES = 1000
SEED = 20261201

#: A frame: what to send and whether as a text frame (bytes as text: not UTF-8).
Frame = tuple[str | bytes, bool]


# -- the generator --------------------------------------------------------------------

def _scalar(rng: random.Random) -> Any:
    return rng.choice([None, True, False, 0, -1, 2**70, 1.5, float("inf"), "", " ",
                       "x" * rng.randint(1, 40), "\x00", "é😀", "a/b", "#", "+"])


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return _scalar(rng)
    if roll < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["type", "message", "data", "topic", "event", "payload", "session",
                        "text", "utterance", "k"]): _value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def _wrong(rng: random.Random, right: Callable[[Any], bool]) -> Any:
    """A value of another type (or shape) than a key wants."""
    while True:
        value = rng.choice([_value(rng), _scalar(rng), "x" * (MAX_TEXT + rng.randint(1, 9000)),
                            " \t ", [], {}])
        if not right(value):
            return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


@dataclass
class Dialect:
    """How to make one dialect's message wrong, key by key.

    ``template()`` is a valid message (a JSON value); ``keys`` maps each of its keys
    (or list indices) to the test a right value passes, and ``inner`` the keys of the
    object ``nested(message)`` holds the user's text in, so that a replacement is
    always wrong; ``text_key`` is the text's key there.
    """

    template: Callable[[], Any]
    keys: dict[Any, Callable[[Any], bool]]
    inner: dict[str, Callable[[Any], bool]]
    text_key: str
    nested: Callable[[Any], Any] = field(default=lambda message: message)
    #: Whether a random JSON value could be a valid message (then it is wrapped in a list).
    valid: Callable[[Any], bool] = field(default=lambda value: False)


def frames(dialect: Dialect, seed: int, count: int) -> Iterator[Frame]:
    """Frames that close the socket (not UTF-8, too big) are a few in a hundred: each
    costs a new connection, and one of each kind says as much as many."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        message = dialect.template()
        if roll < 0.05:
            yield rng.randbytes(rng.randint(0, 64)), False
        elif roll < 0.06:
            yield b'{"type": "message", "message": "\xc3\x28"}' + rng.randbytes(4), True
        elif roll < 0.40:
            key = rng.choice(list(dialect.keys))
            message[key] = _wrong(rng, dialect.keys[key])
            yield _dumps(message), True
        elif roll < 0.55:
            key = rng.choice(list(dialect.inner))
            dialect.nested(message)[key] = _wrong(rng, dialect.inner[key])
            yield _dumps(message), True
        elif roll < 0.62:
            depth = 100_000 if rng.random() < 0.1 else rng.randint(900, MAX_FRAME // 2 - 10)
            yield "[" * depth + "]" * depth, True
        elif roll < 0.68:
            dialect.nested(message)[dialect.text_key] = "\ud800 \udfff"
            yield json.dumps(message), True       # the escapes, not the characters
        elif roll < 0.72:
            yield _dumps(message).replace('"hello"', "1" * rng.randint(4400, 9000)), True
        elif roll < 0.76:
            dialect.nested(message)[dialect.text_key] = "x" * rng.choice(
                [MAX_TEXT + 1, MAX_TEXT * 3, MAX_TEXT * 6, MAX_FRAME, 300_000])
            yield _dumps(message), True
        else:
            value = _value(rng)
            yield _dumps([value] if dialect.valid(value) else value), True


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_TEXT


def _pytlas_valid(value: Any) -> bool:
    # A missing type with a message is pytlas-mobile's way.
    return isinstance(value, dict) and (value.get("type") in ("message", "authenticate", "data")
                                        or (value.get("type") is None and "message" in value))


PYTLAS = Dialect(
    template=lambda: {"type": "message", "message": "hello"},
    keys={"type": lambda v: v is None or v in ("message", "authenticate", "data")},
    inner={"message": _text}, text_key="message", valid=_pytlas_valid)

MCC = Dialect(
    template=lambda: {"type": "utterance", "utterance": "hello"},
    keys={"type": lambda v: v in ("utterance", "data")},
    inner={"utterance": _text}, text_key="utterance",
    valid=lambda v: isinstance(v, dict) and v.get("type") in ("utterance", "data"))


def phoenix_dialect(topic: str, session: str) -> Dialect:
    def template() -> Any:
        return ["1", "7", topic, "utb_msg", {"session": session, "text": "hello"}]

    def ref(value: Any) -> bool:
        return value is None or isinstance(value, str | int)

    return Dialect(
        template=template,
        keys={0: ref, 1: ref, 2: lambda v: v in (topic, "phoenix"),
              3: lambda v: v in ("utb_msg", "phx_join", "phx_leave", "heartbeat", "new_session",
                                 "utb_img", "put_data", "delete_session"),
              4: lambda v: isinstance(v, dict) and _text(v.get("text"))},
        inner={"session": lambda v: v == session, "text": _text},
        text_key="text", nested=lambda message: message[4])


# -- the dialects' clients --------------------------------------------------------------

class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Fuzzed:
    answered: int = 0
    closed: dict[int | None, int] = field(default_factory=dict)


async def _send(socket: ClientConnection, frame: Frame) -> None:
    data, text = frame
    await socket.send(data, text=text if isinstance(data, bytes) else None)


async def _reply(socket: ClientConnection) -> Any:
    try:
        return json.loads(await asyncio.wait_for(socket.recv(), 20))
    except ConnectionClosed:
        raise Closed(socket.close_code) from None


#: Close codes a bad frame may earn on any dialect: not UTF-8, too big.
ANY_CLOSE = {1007, 1009}


Opener = Callable[[], contextlib.AbstractAsyncContextManager[ClientConnection]]


async def fuzz(frames_: Iterator[Frame], opened: Opener, is_error: Callable[[Any], bool],
               closes: set[int]) -> Fuzzed:
    """Send each frame, expecting one error reply or a close (then connect again)."""
    done = Fuzzed()
    pending = list(frames_)
    while pending:
        async with opened() as socket:
            while pending:
                frame = pending.pop(0)
                try:
                    await _send(socket, frame)
                    reply = await _reply(socket)
                except Closed as closed:
                    assert closed.code in closes | ANY_CLOSE, (closed.code, frame[0][:80])
                    done.closed[closed.code] = done.closed.get(closed.code, 0) + 1
                    break
                assert is_error(reply), (reply, frame[0][:200])
                done.answered += 1
    return done


@contextlib.asynccontextmanager
async def pytlas_socket(bridge: Bridge, token: str) -> AsyncIterator[ClientConnection]:
    async with connect(bridge.ws, open_timeout=20, max_size=None) as socket:
        await socket.send(json.dumps({"type": "authenticate", "token": token,
                                      "device": "fuzz"}))
        ready = json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert ready["type"] == "ready", ready
        yield socket


@contextlib.asynccontextmanager
async def mcc_socket(bridge: Bridge, guest: GuestBot) -> AsyncIterator[ClientConnection]:
    """An open bot's (no token: no argon2 hash at each of the fuzzer's connections)."""
    query = urllib.parse.urlencode({"uid": "fuzzer"})
    url = bridge.url.replace("http", "ws") + f"mcc/{guest.bot.id}?{query}"
    async with connect(url, open_timeout=20, max_size=None) as socket:
        await asyncio.wait_for(socket.recv(), 20)             # the interaction's id
        welcome = json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert "utterance" in welcome, welcome
        yield socket


@contextlib.asynccontextmanager
async def phoenix_socket(bridge: Bridge, guest: GuestBot,
                         session: list[str]) -> AsyncIterator[ClientConnection]:
    """Joined to the bot's topic, with a session (made on the first connection)."""
    url = bridge.url.replace("http", "ws") + "socket/websocket?vsn=2.0.0"
    topic = f"bot:{guest.bot.id}"
    async with connect(url, open_timeout=20, max_size=None) as socket:
        await socket.send(json.dumps(["1", "1", topic, "phx_join",
                                      {"access_token": guest.token}]))
        assert json.loads(await asyncio.wait_for(socket.recv(), 20))[4]["status"] == "ok"
        if not session:
            await socket.send(json.dumps(["1", "2", topic, "new_session", {}]))
            while True:         # the reply, then the welcome (btu_msg)
                frame = json.loads(await asyncio.wait_for(socket.recv(), 20))
                if frame[3] == "phx_reply":
                    session.append(frame[4]["response"]["session"])
                elif frame[3] == "btu_msg":
                    break
        yield socket


def pytlas_error(reply: Any) -> bool:
    return isinstance(reply, dict) and reply.get("type") == "error" \
        and isinstance(reply.get("message"), str)


def mcc_error(reply: Any) -> bool:
    return isinstance(reply, dict) and set(reply) == {"error"} and isinstance(reply["error"], str)


def phoenix_error(reply: Any) -> bool:
    if not isinstance(reply, list) or len(reply) != 5:
        return False
    _, _, topic, event, payload = reply
    return (topic == "phoenix" and event == "phx_error") or (
        event == "phx_reply" and isinstance(payload, dict) and payload.get("status") == "error")


# -- the test ----------------------------------------------------------------------------

@pytest.fixture
async def bridge(bridge_config: Config, store: Store, skill_name: str
                 ) -> AsyncIterator[Bridge]:
    async with guest_stack(bridge_config, store, skill_name) as running:
        yield running


async def test_malformed_frames_on_every_dialect_beside_a_conversation(
        bridge: Bridge, alice: Person) -> None:
    tokens = await sign_in(bridge, alice.name, alice.password)
    guest, chat = add_bot(bridge.store), add_bot(bridge.store, open_=True)
    session: list[str] = []
    async with phoenix_socket(bridge, guest, session):
        pass                                    # the session the fuzzer names
    phoenix = phoenix_dialect(f"bot:{guest.bot.id}", session[0])
    stop = asyncio.Event()
    turns: list[list[str]] = []

    async def talk() -> None:
        async with conversation(bridge, tokens["access"]) as (client, _):
            while not stop.is_set():
                await client.say("what is the weather")
                turns.append([m["type"] for m in [await client.next() for _ in range(3)]])
                await asyncio.sleep(1.5 / bridge.config.bridge.rate)  # a person's pace

    talking = asyncio.create_task(talk())
    try:
        results = await asyncio.gather(
            fuzz(frames(PYTLAS, SEED, FRAMES), lambda: pytlas_socket(bridge, tokens["access"]),
                 pytlas_error, {1003}),
            fuzz(frames(MCC, SEED + 1, FRAMES), lambda: mcc_socket(bridge, chat), mcc_error,
                 set()),
            fuzz(frames(phoenix, SEED + 2, FRAMES),
                 lambda: phoenix_socket(bridge, guest, session), phoenix_error, set()))
    finally:
        stop.set()
        await asyncio.wait_for(talking, 60)
    for result in results:
        assert result.answered + sum(result.closed.values()) == FRAMES
        assert result.answered > FRAMES // 2
    assert turns and all(turn == ["thinking", "answer", "done"] for turn in turns)
    # Still serving: a new socket of each dialect works.
    async with conversation(bridge, tokens["access"], device="after") as (client, _):
        await client.say("what is the weather")
        assert [m["type"] for m in [await client.next() for _ in range(3)]] == \
            ["thinking", "answer", "done"]
    async with mcc_socket(bridge, chat), phoenix_socket(bridge, guest, session):
        pass
