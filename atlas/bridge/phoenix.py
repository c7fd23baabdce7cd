"""The AIDA dialect: Phoenix channels on ``/socket/websocket``, as the ``phoenix`` client speaks.

Frames are JSON: arrays ``[join_ref, ref, topic, event, payload]`` with ``vsn=2.0.0``,
objects ``{topic, event, payload, ref, join_ref}`` with ``vsn=1.0.0`` (the default, as
Phoenix servers have it). A client joins ``bot:<bot id>`` with ``{access_token}``, then
pushes ``new_session``, ``utb_msg``, ``utb_img``, ``put_data`` and ``delete_session``;
whatever the assistant says on a session comes back as ``btu_msg {session, text, …}``.

The frame codec and the translation of channel messages are pure functions; the
socket handler (:func:`socket`) is a thin shell: one task reads, one writes, one per
session forwards what the session's channel says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from atlas.protocol.dialog import MAX_TEXT
from atlas.store import Bot, GuestSession

from .bots import GuestError, Guests, TooFast
from .guard import Refusals
from .link import LinkUnavailable, Listener
from .messages import MAX_FRAME, ClientError, Close, Outgoing, load_frame

log = logging.getLogger(__name__)

#: Seconds without a heartbeat after which a socket is closed (Phoenix's own default).
HEARTBEAT_TIMEOUT = 60.0
VERSIONS = ("1.0.0", "2.0.0")
PHOENIX_TOPIC = "phoenix"
BOT_PREFIX = "bot:"


class FrameError(ValueError):
    """A frame that is not a Phoenix message."""


@dataclass(frozen=True)
class Frame:
    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: Any


def decode(text: str, vsn: str) -> Frame:
    try:
        data = load_frame(text)
    except ClientError as problem:
        raise FrameError(str(problem)) from None
    if vsn == "2.0.0":
        if not isinstance(data, list) or len(data) != 5:
            raise FrameError("a vsn 2.0.0 frame is [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = data
    else:
        if not isinstance(data, dict):
            raise FrameError("a vsn 1.0.0 frame is {topic, event, payload, ref}")
        join_ref, ref = data.get("join_ref"), data.get("ref")
        topic, event, payload = data.get("topic"), data.get("event"), data.get("payload")
    if not isinstance(topic, str) or not isinstance(event, str):
        raise FrameError("'topic' and 'event' must be strings")
    for value in (join_ref, ref):
        if value is not None and not isinstance(value, str | int):
            raise FrameError("refs must be strings")
    return Frame(None if join_ref is None else str(join_ref), None if ref is None else str(ref),
                 topic, event, payload if payload is not None else {})


def encode(frame: Frame, vsn: str) -> str:
    if vsn == "2.0.0":
        data: Any = [frame.join_ref, frame.ref, frame.topic, frame.event, frame.payload]
    else:
        data = {"topic": frame.topic, "event": frame.event, "payload": frame.payload,
                "ref": frame.ref}
        if frame.join_ref is not None:
            data["join_ref"] = frame.join_ref
    return json.dumps(data, ensure_ascii=False)


def reply(frame: Frame, status: str, response: dict[str, Any] | None = None) -> Frame:
    return Frame(frame.join_ref, frame.ref, frame.topic, "phx_reply",
                 {"status": status, "response": response or {}})


def btu_msg(session: str, outgoing: Outgoing) -> dict[str, Any] | None:
    """What the client is pushed for one of the session's channel messages, if anything.

    Shows and asks become ``btu_msg``: ``text`` as AIDA sends it, and beside it the
    message's other properties (``choices``, ``slot``, ``cards``…) for richer clients.
    """
    if outgoing.get("type") not in ("answer", "ask"):
        return None
    data = outgoing.get("data") or {}
    message: dict[str, Any] = {key: value for key, value in data.items()
                               if key not in ("raw_text", "text") and value not in (None, [])}
    message.update(session=session, text=data.get("text", ""))
    return message


# -- the socket --------------------------------------------------------------------------


@dataclass
class _Joined:
    bot: Bot
    join_ref: str | None


@dataclass
class _Attached:
    listener: Listener
    task: asyncio.Task[None]


@dataclass
class _Socket:
    """One client socket: what it joined, the sessions it touched, what it sends."""

    websocket: WebSocket
    guests: Guests
    vsn: str
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(1024))
    joined: dict[str, _Joined] = field(default_factory=dict)
    attached: dict[str, _Attached] = field(default_factory=dict)
    last_heartbeat: float = field(default_factory=time.monotonic)
    #: Messages refused in a row for their session's rate.
    refusals: Refusals = field(init=False)

    def __post_init__(self) -> None:
        self.refusals = Refusals(self.guests.limiter)

    def send(self, frame: Frame) -> None:
        try:
            self.outbox.put_nowait(encode(frame, self.vsn))
        except asyncio.QueueFull:  # a client that does not read loses what it would not read
            log.warning("phoenix socket does not read; dropped a %s", frame.event)

    def push(self, topic: str, event: str, payload: dict[str, Any]) -> None:
        joined = self.joined.get(topic)
        self.send(Frame(joined.join_ref if joined else None, None, topic, event, payload))

    async def attach(self, topic: str, bot: Bot, session: GuestSession, *,
                     welcome: bool = False) -> None:
        """Follow a session's channel on this socket (the first time it is named here)."""
        attached = self.attached.get(session.id)
        if attached is not None and attached.listener.ended is None:
            return
        self.detach(session.id)   # a mailbox the hub ended (too slow) is replaced
        listener = await self.guests.listen(bot, session)
        task = asyncio.create_task(self._forward(topic, session.id, listener))
        self.attached[session.id] = _Attached(listener, task)
        try:
            await self.guests.open(bot, session, welcome=welcome)
        except BaseException:
            self.detach(session.id)   # the next message tries again
            raise

    def detach(self, session_id: str) -> None:
        attached = self.attached.pop(session_id, None)
        if attached is not None:
            attached.task.cancel()
            self.guests.link.hub.detach(attached.listener)

    async def _forward(self, topic: str, session_id: str, listener: Listener) -> None:
        while listener.ended is None:
            message = await listener.queue.get()
            if message is None:
                continue
            pushed = btu_msg(session_id, message)
            if pushed is not None and topic in self.joined:
                self.push(topic, "btu_msg", pushed)

    def close_all(self) -> None:
        for session_id in list(self.attached):
            self.detach(session_id)


async def socket(websocket: WebSocket) -> None:
    """``/socket/websocket``: one Phoenix client."""
    guests: Guests = websocket.app.state.guests
    vsn = websocket.query_params.get("vsn", "1.0.0")
    await websocket.accept()
    if vsn not in VERSIONS:
        await websocket.close(1003, f"unsupported vsn {vsn!r}: 1.0.0 or 2.0.0")
        return
    state = _Socket(websocket, guests, vsn)
    writer = asyncio.create_task(_write(state))
    close = _NORMAL
    try:
        await _read(state)
    except WebSocketDisconnect:
        pass
    except _Closed as closed:
        close = closed.close
    finally:
        state.close_all()
        with contextlib.suppress(asyncio.QueueFull):
            state.outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, 2)
        writer.cancel()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(close.code, close.reason)


#: How a socket ends unless said otherwise.
_NORMAL = Close(1000, "")


class _Closed(Exception):
    def __init__(self, close: Close = _NORMAL) -> None:
        super().__init__(close.reason)
        self.close = close


async def _write(state: _Socket) -> None:
    while True:
        text = await state.outbox.get()
        if text is None:
            return
        try:
            await state.websocket.send_text(text)
        except (RuntimeError, WebSocketDisconnect, OSError):
            return


async def _read(state: _Socket) -> None:
    while True:
        left = state.last_heartbeat + HEARTBEAT_TIMEOUT - time.monotonic()
        try:
            event = await asyncio.wait_for(state.websocket.receive(), max(left, 0.01))
        except TimeoutError:
            log.info("phoenix socket closed: no heartbeat for %.0f s", HEARTBEAT_TIMEOUT)
            raise _Closed() from None
        if event["type"] == "websocket.disconnect":
            raise _Closed()
        text = event.get("text")
        if text is None or len(text.encode()) > MAX_FRAME:
            _error(state, f"frames must be JSON text of at most {MAX_FRAME} bytes")
            continue
        try:
            frame = decode(text, state.vsn)
        except FrameError as problem:
            _error(state, str(problem))
            continue
        try:
            await _handle(state, frame)
        except LinkUnavailable as problem:
            state.send(reply(frame, "error", {"reason": f"assistant unavailable: {problem}"}))


def _error(state: _Socket, reason: str) -> None:
    """A frame that cannot be answered (no ref to reply to): said on the socket's topic."""
    state.send(Frame(None, None, PHOENIX_TOPIC, "phx_error", {"reason": reason}))


async def _handle(state: _Socket, frame: Frame) -> None:
    if frame.topic == PHOENIX_TOPIC:
        if frame.event == "heartbeat":
            state.last_heartbeat = time.monotonic()
            state.send(reply(frame, "ok"))
        else:
            state.send(reply(frame, "error", {"reason": "unknown event"}))
        return
    if frame.event == "phx_join":
        await _join(state, frame)
        return
    joined = state.joined.get(frame.topic)
    if joined is None:
        state.send(reply(frame, "error", {"reason": "unmatched topic"}))
        return
    if frame.event == "phx_leave":
        state.send(reply(frame, "ok"))
        state.send(Frame(joined.join_ref, frame.ref, frame.topic, "phx_close", {}))
        del state.joined[frame.topic]
        return
    handler = _EVENTS.get(frame.event)
    if handler is None:
        state.send(reply(frame, "error", {"reason": f"unknown event {frame.event!r}"}))
        return
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    try:
        response = await handler(state, frame, joined.bot, payload)
    except GuestError as problem:
        state.send(reply(frame, "error", {"reason": str(problem)}))
        if isinstance(problem, TooFast) and state.refusals.refused():
            raise _Closed(problem.refusal) from None
        return
    state.refusals.passed()
    if response is not None:
        state.send(reply(frame, "ok", response))


async def _join(state: _Socket, frame: Frame) -> None:
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    token = payload.get("access_token")
    bot_id = frame.topic[len(BOT_PREFIX):] if frame.topic.startswith(BOT_PREFIX) else ""
    bot = await state.guests.authorize(bot_id, token if isinstance(token, str) else None) \
        if bot_id and isinstance(token, str) and token else None
    if bot is None:
        state.send(reply(frame, "error", {"reason": "unauthorized"}))
        return
    state.joined[frame.topic] = _Joined(bot, frame.join_ref or frame.ref)
    state.send(reply(frame, "ok"))


async def _new_session(state: _Socket, frame: Frame, bot: Bot,
                       payload: dict[str, Any]) -> dict[str, Any] | None:
    data = payload.get("data")
    if data is not None and not isinstance(data, dict):
        raise GuestError("'data' must be an object")
    session = await state.guests.new_session(bot, data)
    # The reply goes before the welcome: clients keep btu_msg of the session they know.
    state.send(reply(frame, "ok", {"session": session.id}))
    await state.attach(frame.topic, bot, session, welcome=True)
    return None


async def _utb_msg(state: _Socket, frame: Frame, bot: Bot,
                   payload: dict[str, Any]) -> dict[str, Any] | None:
    if "image" in payload and "text" not in payload:  # the document's sample sends images so
        return await _utb_img(state, frame, bot, payload)
    session = state.guests.session(bot, payload.get("session"))
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise GuestError("utb_msg needs a non-empty 'text'")
    if len(text) > MAX_TEXT:
        raise GuestError(f"a text is at most {MAX_TEXT} characters")
    await state.attach(frame.topic, bot, session)
    await state.guests.say(bot, session, text.strip())
    return {}


async def _utb_img(state: _Socket, frame: Frame, bot: Bot,
                   payload: dict[str, Any]) -> dict[str, Any] | None:
    session = state.guests.session(bot, payload.get("session"))
    image_id = payload.get("image")
    found = state.guests.store.guest_image(image_id) if isinstance(image_id, str) else None
    if found is None or found[0] != session.id:
        raise GuestError("unknown image: upload it to this session first")
    await state.attach(frame.topic, bot, session)
    url = str(state.websocket.url.replace(scheme="https" if state.websocket.url.scheme == "wss"
                                          else "http", path=f"/content/image/{image_id}",
                                          query=""))
    await state.guests.give(bot, session, {"image": {"id": image_id, "url": url,
                                                     "content_type": found[1]}})
    return {}


async def _put_data(state: _Socket, frame: Frame, bot: Bot,
                    payload: dict[str, Any]) -> dict[str, Any] | None:
    session = state.guests.session(bot, payload.get("session"))
    data = payload.get("data")
    if not isinstance(data, dict):
        raise GuestError("put_data needs a 'data' object")
    await state.attach(frame.topic, bot, session)
    await state.guests.put_data(bot, session, data)
    return {}


async def _delete_session(state: _Socket, frame: Frame, bot: Bot,
                          payload: dict[str, Any]) -> dict[str, Any] | None:
    session = state.guests.session(bot, payload.get("session"))
    state.detach(session.id)
    await state.guests.delete(bot, session)
    return {}


_EVENTS = {
    "new_session": _new_session,
    "utb_msg": _utb_msg,
    "utb_img": _utb_img,
    "put_data": _put_data,
    "delete_session": _delete_session,
}
