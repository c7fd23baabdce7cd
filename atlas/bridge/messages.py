"""The bridge's WebSocket protocol (pytlas-server's), as pure functions.

Three things live here and nowhere else:

* what a client may send (:func:`parse_client`), with the first-message rule's reasons;
* how a channel message from the daemon becomes bridge messages (:func:`on_channel`),
  threading a per-sid :class:`Session` record (plain data) through it;
* what a socket that (re)joins a sid is sent right after ``ready`` (:func:`resume`);
* the record as plain JSON, to be kept where every bridge replica finds it
  (:func:`to_view`, :func:`from_view`).

Nothing here touches a socket, MQTT or a clock, so the tests drive it with values alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from atlas.protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelCreated,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    Message,
    valid_level,
)
from atlas.protocol.dialog import MAX_TEXT

#: A bridge WebSocket message, as sent to the client (a JSON object).
Outgoing = dict[str, Any]

#: Largest text frame a client may send, in bytes (a chat line is far below it).
MAX_FRAME = 16 * 1024

DEFAULT_DEVICE = "web"
_DEVICE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ClientError(ValueError):
    """A frame the client should not have sent; the message says why."""


@dataclass(frozen=True)
class Authenticate:
    """``welcome`` (an atlas addition) asks for a welcome if the channel is new."""

    token: str
    device: str = DEFAULT_DEVICE
    welcome: bool = False


@dataclass(frozen=True)
class UserMessage:
    text: str


@dataclass(frozen=True)
class UserData:
    """Structured input (an atlas addition): a clicked choice is ``{"choice": value}``."""

    data: dict[str, Any]


ClientMessage = Authenticate | UserMessage | UserData


def load_frame(frame: str) -> Any:
    """A client's text frame as JSON, for every dialect; :class:`ClientError` if it is not.

    Beyond malformed JSON: nesting deeper than the parser's stack, integers longer
    than Python converts, and ``\\ud800``-style escapes of lone surrogates (text
    that UTF-8, hence MQTT, cannot carry) are refused here, before anything reads it.
    """
    try:
        data = json.loads(frame)
    except json.JSONDecodeError:
        raise ClientError("frame is not JSON") from None
    except RecursionError:
        raise ClientError("frame is nested too deeply") from None
    except ValueError:      # int('1' * 5000): past sys.get_int_max_str_digits()
        raise ClientError("frame holds a number too long") from None
    if "\\u" in frame:       # only escapes can make a lone surrogate of valid UTF-8
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ClientError("frame holds an escaped lone surrogate, not text") from None
    return data


def parse_client(frame: str) -> ClientMessage:
    """Decode one text frame from a client, raising :class:`ClientError` if it is bad."""
    if len(frame.encode()) > MAX_FRAME:
        raise ClientError(f"frame larger than {MAX_FRAME} bytes")
    data = load_frame(frame)
    if not isinstance(data, dict):
        raise ClientError("frame must be a JSON object")
    kind = data.get("type")
    if kind == "authenticate":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ClientError("authenticate needs a 'token' string")
        device = data.get("device", DEFAULT_DEVICE)
        if device is None:
            device = DEFAULT_DEVICE
        if not isinstance(device, str) or not _DEVICE.match(device):
            raise ClientError("'device' must be 1 to 32 letters, digits, '-' or '_'")
        return Authenticate(token, device, data.get("welcome") is True)
    if kind == "data":
        value = data.get("data")
        if not isinstance(value, dict):
            raise ClientError("data needs a 'data' object")
        return UserData(value)
    # pytlas-server took any frame holding a message, and pytlas-mobile sends no type.
    if kind == "message" or (kind is None and "message" in data):
        text = data.get("message")
        if not isinstance(text, str) or not text.strip():
            raise ClientError("message needs a non-empty 'message' string")
        if len(text) > MAX_TEXT:
            raise ClientError(f"message longer than {MAX_TEXT} characters")
        return UserMessage(text.strip())
    raise ClientError(f"unknown message type {kind!r}" if isinstance(kind, str)
                      else "frame needs a 'type'")


def sid_for(uid: str, device: str) -> str:
    """The channel id of one user's device: chosen here, never by the client.

    Hashing the pair keeps user names out of topics and makes every (user, device)
    pair its own sid, so no input of one user can name another user's channel.
    """
    digest = hashlib.sha256(f"{uid}\x00{device}".encode()).hexdigest()[:20]
    sid = f"{device}-{digest}"
    if not valid_level(sid):  # device is already restricted; this guards the invariant
        raise ValueError(f"invalid sid {sid!r}")
    return sid


# -- why a socket is closed -------------------------------------------------------------


@dataclass(frozen=True)
class Close:
    """A WebSocket close frame the bridge sends: code and a short reason."""

    code: int
    reason: str

    def because(self, detail: str) -> Close:
        # A close reason must fit in 123 bytes (RFC 6455, 5.5: control frame payload).
        reason = f"{self.reason}: {detail}"
        while len(reason.encode()) > 123:
            reason = reason[:-1]
        return Close(self.code, reason)


AUTH_REQUIRED = Close(4001, "authentication required")
INVALID_TOKEN = Close(4003, "invalid token")
ORIGIN_REFUSED = Close(1008, "origin not allowed")
UNSUPPORTED = Close(1003, "binary frames are not supported")
TOO_BIG = Close(1009, f"frames are limited to {MAX_FRAME} bytes")
UNAVAILABLE = Close(1013, "assistant unavailable")
TOO_SLOW = Close(1008, "the client does not read its messages")
TOO_MANY = Close(1008, "too many messages")


# -- outgoing messages ---------------------------------------------------------------


def ready(language: str) -> Outgoing:
    return {"type": "ready", "language": language}


def done(require_input: bool, reason: str | None = None) -> Outgoing:
    message: Outgoing = {"type": "done", "require_input": require_input}
    if reason is not None:
        message["reason"] = reason
    return message


def error(text: str) -> Outgoing:
    """Not in pytlas-server's protocol: clients that do not know it ignore it."""
    return {"type": "error", "message": text}


_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), replacement) for pattern, replacement, flags in (
        (r"^```[^\n]*\n?|^```\s*$", "", re.MULTILINE),           # code fences
        (r"!\[([^\]]*)\]\([^)]*\)", r"\1", 0),                   # images: keep alt text
        (r"\[([^\]]+)\]\([^)]*\)", r"\1", 0),                    # links: keep label
        (r"<(https?://[^>]+)>", r"\1", 0),                       # autolinks
        (r"^\s{0,3}#{1,6}\s+", "", re.MULTILINE),                # headings
        (r"^\s{0,3}>\s?", "", re.MULTILINE),                     # quotes
        (r"^\s*(?:[-*+]|\d+[.)])\s+", "", re.MULTILINE),         # list markers
        (r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", "", re.MULTILINE),   # rules
        (r"(\*\*|__)(.+?)\1", r"\2", 0),                         # bold
        (r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", 0),  # italics
        (r"~~(.+?)~~", r"\1", 0),                                # strike-through
        (r"`([^`]+)`", r"\1", 0),                                # inline code
    ))


def strip_markdown(text: str) -> str:
    """The text without markdown markup, for clients that speak or print plain text."""
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _cards(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [card for card in value if isinstance(card, dict)]


# -- the per-sid session record ------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What the bridge remembers of one sid's conversation, to resume a socket.

    Plain data: ``pending_ask`` is the ``data`` of the last unanswered ``ask``.
    """

    lang: str | None = None
    context: str | None = None
    working: bool = False
    pending_ask: dict[str, Any] | None = None


Step = tuple[Session, list[Outgoing]]


def to_view(session: Session) -> dict[str, Any]:
    """The record as a JSON object (what is stored)."""
    return {"lang": session.lang, "context": session.context, "working": session.working,
            "pending_ask": session.pending_ask}


_VIEW_TYPES: dict[str, type | tuple[type, ...]] = {
    "lang": (str, type(None)), "context": (str, type(None)), "working": bool,
    "pending_ask": (dict, type(None))}


def from_view(view: Mapping[str, Any]) -> Session:
    """The record stored as :func:`to_view`; a missing field takes its default, an
    unknown one is ignored, and a field of another type is a :class:`ValueError`."""
    known = {key: value for key, value in view.items() if key in _VIEW_TYPES}
    for key, value in known.items():
        if not isinstance(value, _VIEW_TYPES[key]):
            raise ValueError(f"{key!r} is a {type(value).__name__}")
    return Session(**known)


def _created(session: Session, message: Message) -> Step:
    assert isinstance(message, ChannelCreated)
    return replace(session, lang=message.lang), []


def _show(session: Session, message: Message) -> Step:
    assert isinstance(message, ChannelShow)
    data = {**message.extra, "text": message.text, "cards": _cards(message.extra.get("cards")),
            "raw_text": strip_markdown(message.text)}
    return session, [{"type": "answer", "data": data}]


def _ask(session: Session, message: Message) -> Step:
    assert isinstance(message, ChannelAsk)
    data = {**message.extra, "text": message.text, "slot": message.slot,
            "choices": list(message.choices) if message.choices is not None else None,
            "raw_text": strip_markdown(message.text)}
    return (replace(session, pending_ask=data, working=False),
            [{"type": "ask", "data": data}, done(True)])


def _work(session: Session, message: Message) -> Step:
    return replace(session, working=True, pending_ask=None), [{"type": "thinking"}]


def _terminate(session: Session, message: Message) -> Step:
    assert isinstance(message, ChannelTerminate)
    return (replace(session, working=False, pending_ask=None),
            [done(False, message.reason.value)])


def _context(session: Session, message: Message) -> Step:
    assert isinstance(message, ChannelContext)
    return replace(session, context=message.name), [{"type": "context", "name": message.name}]


def _destroyed(session: Session, message: Message) -> Step:
    # The daemon forgot the sid: nothing is pending any more. The language is kept
    # for the record; the next socket re-creates the channel anyway.
    return Session(lang=session.lang), [done(False)]


_ON_CHANNEL: dict[type[Message], Callable[[Session, Message], Step]] = {
    ChannelCreated: _created,
    ChannelShow: _show,
    ChannelAsk: _ask,
    ChannelWork: _work,
    ChannelTerminate: _terminate,
    ChannelContext: _context,
    ChannelDestroyed: _destroyed,
}


def on_channel(session: Session, message: Message) -> Step:
    """Apply one channel message to a session: the new record and what to send sockets.

    ``created`` only records the language; unknown kinds change nothing.
    Each message sets fields of the record from its own content alone, so applying
    it twice is applying it once: bridges that hear a message and one that loaded a
    record already holding it agree.
    """
    handler = _ON_CHANNEL.get(type(message))
    if handler is None:
        return session, []
    return handler(session, message)


def resume(session: Session) -> list[Outgoing]:
    """What a socket joining a sid is sent after ``ready``, so it shows where things stand."""
    messages: list[Outgoing] = []
    if session.context is not None:
        messages.append({"type": "context", "name": session.context})
    if session.working:
        messages.append({"type": "thinking"})
    if session.pending_ask is not None:
        messages += [{"type": "ask", "data": dict(session.pending_ask)}, done(True)]
    return messages
