"""The MCC dialect: the Multimodal Chatbot Creator's WebSocket and REST back end.

WebSocket ``/mcc/<bot id>`` (or ``/mcc/<bot id>/use/<uid>``): ``uid`` and ``interaction``
come as query parameters or headers (the literal ``None`` is absent). A new
interaction gets its id (a plain string frame) then the welcome ``{utterance,
payload}``; a known one resumes silently. Every client frame, ``{"type":
"utterance", "utterance"}`` or ``{"type": "data", "payload"}``, gets one reply frame
when the assistant's turn ends; notifications come as frames of their own.

REST: ``POST /mcc/<bot id>/init`` (``uid``, JSON or form) starts an interaction held by
a cookie and answers the welcome; ``POST /mcc/<bot id>/event`` answers the turn.

:class:`Turns` (pure) folds the channel's messages into those reply frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from atlas.protocol.dialog import MAX_TEXT
from atlas.store import Bot, GuestSession

from .bots import GuestError, Guests, TooFast
from .guard import Refusals
from .link import LinkUnavailable, Listener
from .messages import MAX_FRAME, ClientError, Outgoing, load_frame

log = logging.getLogger(__name__)

COOKIE = "mcc_interaction"
#: Seconds the REST twin waits for the end of a turn beyond the skills' own timeout.
REST_MARGIN = 5.0


# -- turns, as pure data -----------------------------------------------------------------


@dataclass(frozen=True)
class Turns:
    """What the assistant said since the last reply frame, and how many frames are owed.

    ``owed`` counts the client frames (and the welcome) not answered yet: a turn that
    ends pays one; something said while nothing is owed is a notification, sent alone.
    """

    owed: int = 0
    texts: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)

    def expect(self) -> Turns:
        return replace(self, owed=self.owed + 1)

    def step(self, outgoing: Outgoing) -> tuple[Turns, list[dict[str, Any]]]:
        kind = outgoing.get("type")
        data = outgoing.get("data") or {}
        if kind in ("answer", "ask"):
            texts = (*self.texts, data["text"]) if data.get("text") else self.texts
            payload = dict(self.payload)
            cards = data.get("cards") or []
            if cards:
                payload["cards"] = [*payload.get("cards", []), *cards]
            if kind == "ask":
                payload["require_input"] = True
                for key in ("choices", "slot"):
                    if data.get(key) is not None:
                        payload[key] = data[key]
            extra = {k: v for k, v in data.items()
                     if k not in ("text", "raw_text", "cards", "choices", "slot")}
            payload.update(extra)
            turn = replace(self, texts=texts, payload=payload)
            if self.owed == 0:  # a notification: a frame of its own
                return Turns(), [turn.frame()]
            return turn, []
        if kind == "done" and self.owed > 0:
            payload = {"require_input": bool(outgoing.get("require_input")), **self.payload}
            frame = replace(self, payload=payload).frame()
            return Turns(owed=self.owed - 1), [frame]
        return self, []

    def frame(self) -> dict[str, Any]:
        return {"utterance": "\n".join(self.texts), "payload": dict(self.payload)}


def parse_event(data: Any) -> tuple[str, Any]:
    """``("utterance", text)`` or ``("data", payload)`` from a client's event."""
    if not isinstance(data, dict):
        raise ClientError("an event is a JSON object with a 'type'")
    kind = data.get("type")
    if kind == "utterance":
        text = data.get("utterance")
        if not isinstance(text, str) or not text.strip():
            raise ClientError("an utterance needs a non-empty 'utterance' string")
        if len(text) > MAX_TEXT:
            raise ClientError(f"an utterance is at most {MAX_TEXT} characters")
        return "utterance", text.strip()
    if kind == "data":
        payload = data.get("payload")
        if not isinstance(payload, dict):
            raise ClientError("data needs a 'payload' object")
        return "data", payload
    raise ClientError("'type' must be 'utterance' or 'data'")


def _given(value: str | None) -> str | None:
    """MCC clients send the literal ``None`` for an absent value."""
    if value is None or value in ("", "None", "null"):
        return None
    return value


def _token(params: Any, headers: Any) -> str | None:
    token = _given(params.get("access_token"))
    authorization = headers.get("authorization", "")
    if token is None and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip() or None
    return token


# -- the WebSocket ---------------------------------------------------------------------------


async def socket(websocket: WebSocket) -> None:
    guests: Guests = websocket.app.state.guests
    await websocket.accept()
    params, headers = websocket.query_params, websocket.headers
    bot = await guests.authorize(websocket.path_params["bot_id"], _token(params, headers))
    if bot is None:
        await _refuse(websocket, "unknown bot, or a missing or wrong access token")
        return
    uid = _given(websocket.path_params.get("uid")) or _given(params.get("uid")) \
        or _given(headers.get("uid"))
    if uid is None or len(uid) > 128:
        await _refuse(websocket, "Insert the uid (user id) as a query parameter or a header "
                                 "and try again.")
        return
    interaction = _given(params.get("interaction")) or _given(headers.get("interaction"))
    listener: Listener | None = None
    try:
        turns = Turns()
        if interaction is None:
            session = await guests.new_session(bot, {"uid": uid}, owner=uid)
            await websocket.send_text(session.id)
            turns = turns.expect()
        else:
            found = guests.store.guest_session(bot.name, interaction[:64])
            if found is None or found.owner != uid:
                await _refuse(websocket, "unknown interaction for this uid")
                return
            session = found
        listener = await guests.listen(bot, session)
        await guests.open(bot, session, welcome=interaction is None)
        await _converse(websocket, guests, bot, session, listener, turns)
    except GuestError as problem:
        await _refuse(websocket, str(problem))
    except LinkUnavailable as problem:
        await _refuse(websocket, f"the assistant is unavailable: {problem}")
    except WebSocketDisconnect:
        pass
    finally:
        if listener is not None:
            guests.link.hub.detach(listener)


async def _refuse(websocket: WebSocket, message: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_text(json.dumps({"error": message}))
        await websocket.close(1008)


async def _converse(websocket: WebSocket, guests: Guests, bot: Bot, session: GuestSession,
                    listener: Listener, turns: Turns) -> None:
    box = [turns]  # shared by the reader (who owes) and the writer (who pays)
    lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_text(json.dumps(frame, ensure_ascii=False))

    async def write() -> None:
        while listener.ended is None:
            message = await listener.queue.get()
            if message is None:
                continue
            box[0], frames = box[0].step(message)
            for frame in frames:
                await send(frame)

    async def read() -> None:
        refusals = Refusals(guests.limiter)
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text")
            try:
                if text is None or len(text.encode()) > MAX_FRAME:
                    raise ClientError(f"frames are JSON text of at most {MAX_FRAME} bytes")
                kind, value = parse_event(load_frame(text))
                box[0] = box[0].expect()
                try:
                    if kind == "utterance":
                        await guests.say(bot, session, value)
                    else:
                        await guests.give(bot, session, value)
                except (GuestError, LinkUnavailable):
                    box[0] = replace(box[0], owed=max(0, box[0].owed - 1))
                    raise
                refusals.passed()
            except (ClientError, GuestError, LinkUnavailable) as problem:
                await send({"error": str(problem)})
                if isinstance(problem, TooFast) and refusals.refused():
                    close = problem.refusal
                    await websocket.close(close.code, close.reason)
                    return

    tasks = {asyncio.create_task(read()), asyncio.create_task(write())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# -- the REST twin ---------------------------------------------------------------------------


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


async def _rest_bot(request: Request, guests: Guests) -> Bot | None:
    return await guests.authorize(request.path_params["bot_id"],
                                  _token(request.query_params, request.headers))


async def _turn(guests: Guests, bot: Bot, session: GuestSession, *, welcome: bool,
                event: tuple[str, Any] | None) -> dict[str, Any] | None:
    """Open the channel, send the event (if any) and wait for the end of the turn."""
    listener = await guests.listen(bot, session)
    try:
        await guests.open(bot, session, welcome=welcome)
        if event is not None:
            kind, value = event
            if kind == "utterance":
                await guests.say(bot, session, value)
            else:
                await guests.give(bot, session, value)
        turns = Turns().expect()
        deadline = guests.turn_timeout + REST_MARGIN
        async with asyncio.timeout(deadline):
            while True:
                message = await listener.queue.get()
                if message is None:
                    return None
                turns, frames = turns.step(message)
                if frames and turns.owed == 0:
                    return frames[-1]
    except TimeoutError:
        return None
    finally:
        guests.link.hub.detach(listener)


async def init(request: Request) -> Response:
    guests: Guests = request.app.state.guests
    bot = await _rest_bot(request, guests)
    if bot is None:
        return _fail(401, "unknown bot, or a missing or wrong access token")
    uid: Any = None
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(await request.body() or b"{}")
            uid = body.get("uid") if isinstance(body, dict) else None
        else:
            async with request.form(max_files=0, max_fields=8) as form:
                uid = form.get("uid")
    except Exception:
        return _fail(400, "send uid as JSON or as a form field")
    uid = _given(uid) if isinstance(uid, str) else None
    if uid is None or len(uid) > 128:
        return _fail(400, "'uid' is required")
    try:
        session = await guests.new_session(bot, {"uid": uid}, owner=uid)
        frame = await _turn(guests, bot, session, welcome=True, event=None)
    except GuestError as problem:
        return _fail(429, str(problem))
    except LinkUnavailable as problem:
        return _fail(503, f"the assistant is unavailable: {problem}")
    body = {"interaction": session.id, "response": f"your uid is: {uid}",
            **(frame or {"utterance": "", "payload": {}})}
    response = JSONResponse(body)
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax",
                        path=f"/mcc/{bot.id}", max_age=int(guests.bounds.expiry_days * 86400))
    return response


async def event(request: Request) -> Response:
    guests: Guests = request.app.state.guests
    bot = await _rest_bot(request, guests)
    if bot is None:
        return _fail(401, "unknown bot, or a missing or wrong access token")
    interaction = _given(request.cookies.get(COOKIE)) or \
        _given(request.query_params.get("interaction")) or \
        _given(request.headers.get("interaction"))
    session = guests.store.guest_session(bot.name, interaction[:64]) if interaction else None
    if session is None:
        return _fail(400, "The user has not been initialized yet: POST init first")
    raw = await request.body()
    if len(raw) > MAX_FRAME:
        return _fail(413, f"events are at most {MAX_FRAME} bytes")
    try:
        parsed = parse_event(load_frame(raw.decode() or "null"))
    except UnicodeDecodeError:
        return _fail(400, "the body must be JSON")
    except ClientError as problem:
        return _fail(400, "the body must be JSON" if str(problem) == "frame is not JSON"
                     else str(problem))
    try:
        frame = await _turn(guests, bot, session, welcome=False, event=parsed)
    except GuestError as problem:
        return _fail(429, str(problem))
    except LinkUnavailable as problem:
        return _fail(503, f"the assistant is unavailable: {problem}")
    if frame is None:
        return _fail(504, "the assistant did not finish its turn in time")
    return JSONResponse(frame)
