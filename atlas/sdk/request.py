"""What a handler receives: the intent request, and the ways to answer it.

Every answer goes out through an :class:`Outbox`, which queues protocol messages
in order and returns a :class:`Sent` right away. That is what lets one ``Request``
serve both kinds of handlers: an ``async def`` handler awaits ``Sent`` (the
message has then been published), a plain function running in a worker thread
simply calls the methods; either way the messages leave in the order they were
made, and nothing here touches MQTT.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Coroutine, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import (
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Message,
)
from .cards import Card, cards_payload
from .i18n import Translations

log = logging.getLogger("atlas.sdk")

#: Device topics a skill may publish on must not reach into atlas's own tree.
RESERVED_PREFIX = "atlas/"


@dataclass(frozen=True)
class RawPublish:
    """A message for a device topic (``zigbee2mqtt/…``), outside the atlas protocol."""

    topic: str
    payload: bytes
    retain: bool = False


Outgoing = Message | RawPublish


class Sent:
    """A message handed to the outbox; await it to know it has been published."""

    def __init__(self, future: concurrent.futures.Future[None]) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, None]:
        if not self._future.done():
            yield from asyncio.wrap_future(self._future).__await__()
        # Handed over already (the usual case): no trip through the event loop.
        self._future.result()  # raises what publishing raised

    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Block until published: for plain-function handlers (never on the event loop)."""
        self._future.result(timeout)

    @classmethod
    def completed(cls) -> Sent:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return cls(future)

    @classmethod
    def failed(cls, error: BaseException) -> Sent:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_exception(error)
        return cls(future)


#: What every message handed over at once is: one shared, already completed ``Sent``.
SENT = Sent.completed()


class Outbox:
    """Where a request's messages go; the MQTT runner and the test recorder implement it."""

    def send(self, item: Outgoing) -> Sent:
        raise NotImplementedError

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background job that outlives the handler (a timer); stopped with the skill."""
        raise NotImplementedError


class RequestFinished(RuntimeError):
    """The handler tried to speak in a conversation it already terminated."""


class Request:
    """One call of an intent handler."""

    def __init__(self, message: IntentRequest, outbox: Outbox,
                 translations: Translations | None = None) -> None:
        self.message = message
        self._outbox = outbox
        self._translations = translations or Translations()
        self.asked = False
        self.terminated = False

    def __repr__(self) -> str:
        return f"<Request {self.intent} cid={self.cid} sid={self.sid} lang={self.lang}>"

    # What the daemon sent.

    @property
    def intent(self) -> str:
        return self.message.intent

    @property
    def cid(self) -> str:
        return self.message.cid

    @property
    def sid(self) -> str:
        return self.message.sid

    @property
    def uid(self) -> str:
        return self.message.uid

    @property
    def lang(self) -> str:
        return self.message.lang

    @property
    def env(self) -> dict[str, Any]:
        return self.message.env

    @property
    def choice(self) -> str | None:
        """The user's answer to the last :meth:`ask_choice`, on the call right after it."""
        return self.message.choice

    @property
    def text(self) -> str:
        """What the user typed (given with the fallback intent, and by recent daemons)."""
        return self.message.text

    @property
    def data(self) -> dict[str, Any] | None:
        """Structured input given on this call (a button's value, a form, an image), or
        ``None`` when the user typed."""
        return self.message.data

    @property
    def session(self) -> dict[str, Any]:
        """The channel's session data (what a chat widget said about its user)."""
        return self.message.session

    def slot(self, name: str, default: Any = None) -> Any:
        """The slot's value (the first one if several were found), or ``default``."""
        value = self.message.slots.get(name)
        if isinstance(value, list):
            return value[0] if value else default
        return default if value is None else value

    def slots(self, name: str) -> list[Any]:
        """Every value found for the slot, in order (empty when none)."""
        value = self.message.slots.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    def rich(self, name: str) -> list[dict[str, Any]]:
        """The ``__slots`` form of a slot: ``[{"value", "raw", "entity"}]``."""
        return list(self.message.rich_slots.get(name) or [])

    def _(self, text: str, *args: Any, **kwargs: Any) -> str:
        """``text`` translated to the request's language, then formatted if arguments are given."""
        translated = self._translations.get(self.lang, text)
        return translated.format(*args, **kwargs) if args or kwargs else translated

    # Answers, all tied to this conversation's cid.

    def show(self, text: str, *, cards: Iterable[Card | Mapping[str, Any]] | None = None,
             **extra: Any) -> Sent:
        self._check_open("show")
        return self._outbox.send(DialogShow(self.sid, self.cid, _text(text),
                                            _extra(extra, cards)))

    def ask(self, slot: str, text: str, choices: Iterable[str] | None = None,
            **extra: Any) -> Sent:
        """Ask for a slot's value; the handler is called again with the slot filled in."""
        self._check_open("ask")
        if not isinstance(slot, str) or not slot:
            raise ValueError("ask() needs the name of the slot to fill")
        sent = self._outbox.send(DialogAsk(self.sid, self.cid, _text(text), slot,
                                           _choices(choices, required=False), _extra(extra)))
        self.asked = True
        return sent

    def ask_choice(self, text: str, choices: Iterable[str], **extra: Any) -> Sent:
        """Ask the user to pick one of ``choices``; the next call carries it in :attr:`choice`."""
        self._check_open("ask_choice")
        sent = self._outbox.send(DialogAsk(self.sid, self.cid, _text(text), None,
                                           _choices(choices, required=True), _extra(extra)))
        self.asked = True
        return sent

    def context(self, name: str | None) -> Sent:
        """Enter a context (intents named ``name/…`` take over), or leave it with ``None``."""
        self._check_open("context")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"invalid context name {name!r}")
        return self._outbox.send(DialogContext(self.sid, self.cid, name))

    def terminate(self, *, error: bool = False) -> Sent:
        """End the conversation (the SDK does it for a handler that returns without asking).

        ``error`` ends it with the reason ``error`` (the SDK does so for a handler that raises).
        """
        self._check_open("terminate")
        self.terminated = True
        return self._outbox.send(DialogTerminate(self.sid, self.cid, error))

    # Outside the conversation.

    def notify(self, text: str, *, cards: Iterable[Card | Mapping[str, Any]] | None = None,
               **extra: Any) -> Sent:
        """Tell the user something later, on the same sid (shown when the sid is idle)."""
        return self._outbox.send(DialogNotify(self.sid, _text(text), _extra(extra, cards)))

    def publish(self, topic: str, payload: Mapping[str, Any] | str | bytes, *,
                retain: bool = False) -> Sent:
        """Publish to a device topic (QoS 1); atlas's own topics are refused."""
        return self._outbox.send(raw_publish(topic, payload, retain=retain))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; it is cancelled when the skill stops."""
        return self._outbox.spawn(coro)

    def _check_open(self, what: str) -> None:
        if self.terminated:
            raise RequestFinished(f"{what}() after terminate() in intent {self.intent!r}")


def raw_publish(topic: str, payload: Mapping[str, Any] | str | bytes, *,
                retain: bool = False) -> RawPublish:
    if not isinstance(topic, str) or not topic or topic.startswith(RESERVED_PREFIX):
        raise ValueError(f"cannot publish on {topic!r}: use the request's methods for atlas "
                         "topics, and a device topic otherwise")
    if any(c in topic for c in "+#\x00"):
        raise ValueError(f"a topic to publish on cannot hold wildcards: {topic!r}")
    if isinstance(payload, Mapping):
        data = json.dumps(dict(payload), ensure_ascii=False).encode()
    elif isinstance(payload, str):
        data = payload.encode()
    elif isinstance(payload, bytes):
        data = payload
    else:
        raise TypeError("payload must be a mapping (sent as JSON), a string or bytes")
    return RawPublish(topic, data, retain)


def _text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    return text


def _choices(choices: Iterable[str] | None, *, required: bool) -> tuple[str, ...] | None:
    if choices is None:
        if required:
            raise ValueError("ask_choice() needs choices")
        return None
    if isinstance(choices, str):
        raise TypeError("choices must be a list of strings, not one string")
    values = tuple(choices)
    if not values or not all(isinstance(c, str) and c for c in values):
        raise ValueError("choices must be a non-empty list of non-empty strings")
    return values


def _extra(extra: dict[str, Any], cards: Iterable[Card | Mapping[str, Any]] | None = None
           ) -> dict[str, Any]:
    """Extra channel properties: never metadata, always JSON (checked now, in the handler)."""
    data = dict(extra)
    if cards is not None:
        data["cards"] = cards_payload(cards)
    for key in data:
        if key.startswith("__"):
            raise ValueError(f"{key!r}: properties starting with '__' are reserved for atlas")
    try:
        json.dumps(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"extra properties must be JSON values: {error}") from None
    return data
