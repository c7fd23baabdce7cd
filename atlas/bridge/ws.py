"""The assistant WebSocket: ``/ws/assistant/``, pytlas-server's protocol.

A socket goes through explicit phases: it is accepted, must authenticate with its first
frame (anything else closes it before a single MQTT message is sent), then converses
until either side closes or its access token expires. One task reads the client; one
writes, from the listener's queue, so a single task ever sends on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from .api import Deps
from .guard import Refusals, origin_allowed
from .link import LinkUnavailable, Listener
from .messages import (
    AUTH_REQUIRED,
    INVALID_TOKEN,
    MAX_FRAME,
    ORIGIN_REFUSED,
    TOO_BIG,
    UNAVAILABLE,
    UNSUPPORTED,
    Authenticate,
    ClientError,
    Close,
    UserData,
    error,
    parse_client,
    ready,
    sid_for,
)
from .tokens import Claims, TokenError

log = logging.getLogger(__name__)

#: Seconds a socket may stay silent before authenticating.
AUTH_TIMEOUT = 10.0


class Phase(enum.Enum):
    AUTHENTICATING = "authenticating"
    CONVERSING = "conversing"
    CLOSED = "closed"


class Refused(Exception):
    """Ends a socket with a close frame."""

    def __init__(self, close: Close) -> None:
        super().__init__(close.reason)
        self.close = close


class Gone(Exception):
    """The client went away."""


async def _frame(websocket: WebSocket, timeout: float | None = None) -> str:
    """The next text frame; binary, oversized frames and disconnects end the socket."""
    try:
        event = await asyncio.wait_for(websocket.receive(), timeout)
    except TimeoutError:
        raise Refused(AUTH_REQUIRED.because("timed out")) from None
    if event["type"] == "websocket.disconnect":
        raise Gone()
    text = event.get("text")
    if text is None:
        raise Refused(UNSUPPORTED)
    if len(text) > MAX_FRAME or len(text.encode()) > MAX_FRAME:
        raise Refused(TOO_BIG)
    return str(text)


async def _authenticate(websocket: WebSocket, deps: Deps) -> tuple[Claims, Authenticate]:
    """The token's claims and the first frame, or Refused."""
    try:
        first = parse_client(await _frame(websocket, AUTH_TIMEOUT))
    except ClientError as problem:
        raise Refused(AUTH_REQUIRED.because(str(problem))) from None
    if not isinstance(first, Authenticate):
        raise Refused(AUTH_REQUIRED)
    try:
        claims = deps.tokens.verify(first.token)
    except TokenError as problem:
        raise Refused(INVALID_TOKEN.because(str(problem))) from None
    if deps.store.user(claims.sub) is None:
        raise Refused(INVALID_TOKEN.because("unknown user"))
    return claims, first


async def _write(websocket: WebSocket, listener: Listener) -> None:
    while listener.ended is None:
        message = await listener.queue.get()
        if message is not None and listener.ended is None:
            await websocket.send_text(json.dumps(message, ensure_ascii=False))
    raise Refused(listener.ended)


async def _read(websocket: WebSocket, deps: Deps, listener: Listener) -> None:
    # Messages refused in a row for the user's rate (``bridge.rate``; none when off).
    refusals = Refusals(deps.user_rate) if deps.user_rate is not None else None
    while True:
        try:
            message = parse_client(await _frame(websocket))
        except ClientError as problem:
            await _refuse(listener, str(problem))
            continue
        if isinstance(message, Authenticate):
            await _refuse(listener, "already authenticated")
            continue
        if refusals is not None:
            rate = refusals.limiter
            if not rate.allow(listener.uid, deps.clock()):
                if refusals.refused():
                    raise Refused(rate.refusal)
                await _refuse(listener, rate.refusal.reason)
                continue
            refusals.passed()
        try:
            if isinstance(message, UserData):
                await deps.link.give(listener.sid, message.data)
            else:
                await deps.link.say(listener.sid, message.text)
        except LinkUnavailable as problem:
            await _refuse(listener, f"the assistant is unavailable: {problem}")


async def _refuse(listener: Listener, reason: str) -> None:
    """Answer a frame with an error, through the writer (the only sender). The frames
    a client sent at once are all read before this task yields: yielding here lets
    the writer keep pace, so a client that floods, yet reads, is not closed as one
    that does not read (256 waiting)."""
    listener.put(error(reason))
    await asyncio.sleep(0)


async def _expire(seconds: float) -> None:
    """An access token is good for its lifetime, not for the socket's: the socket
    ends with it (4003), and the page refreshes its token and reconnects."""
    await asyncio.sleep(seconds)
    raise Refused(INVALID_TOKEN.because("token expired"))


async def _converse(websocket: WebSocket, deps: Deps, listener: Listener,
                    seconds_left: float) -> None:
    """Read and write until either side ends or the token expires; the first to
    end ends the others."""
    tasks = {asyncio.create_task(_read(websocket, deps, listener)),
             asyncio.create_task(_write(websocket, listener)),
             asyncio.create_task(_expire(seconds_left))}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        problem = task.exception()
        if isinstance(problem, Refused | Gone | WebSocketDisconnect):
            raise problem
        if problem is not None:  # a send on a socket that just went away
            log.debug("socket of %r ended: %r", listener.uid, problem)
            raise Gone() from problem


async def assistant(websocket: WebSocket) -> None:
    deps: Deps = websocket.app.state.deps
    await websocket.accept()
    phase = Phase.AUTHENTICATING
    listener: Listener | None = None
    try:
        if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"),
                              deps.config.bridge.origins):
            raise Refused(ORIGIN_REFUSED)
        claims, first = await _authenticate(websocket, deps)
        uid = claims.sub
        sid = sid_for(uid, first.device)
        # Attaching and taking the resume snapshot happen in one step, so no channel
        # message falls between what is re-sent and what is queued; attaching before
        # the channel is created keeps the welcome that follows its creation.
        listener, pending = await deps.link.hub.join(sid, uid, claims.fam)
        try:
            lang = await deps.link.open(sid, uid, welcome=first.welcome)
        except LinkUnavailable as problem:
            raise Refused(UNAVAILABLE.because(str(problem))) from None
        phase = Phase.CONVERSING
        log.info("socket of %r joined %s", uid, sid)
        for message in (ready(lang), *pending):
            await websocket.send_text(json.dumps(message, ensure_ascii=False))
        await _converse(websocket, deps, listener, deps.tokens.seconds_left(claims))
    except Refused as refused:
        log.info("socket closed (%s) in phase %s: %s", refused.close.code, phase.value,
                 refused.close.reason)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(refused.close.code, refused.close.reason)
    except (Gone, WebSocketDisconnect):
        pass
    finally:
        phase = Phase.CLOSED
        if listener is not None:
            deps.link.hub.detach(listener)
