"""Dialog topics: what channels send to be parsed and what skills say back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from .base import (
    MAX_PAYLOAD,
    Message,
    ProtocolError,
    TextMessage,
    Topic,
    encode_json,
    public,
    read,
    str_list,
)

#: Longest text a user may send to be parsed, in characters.
MAX_TEXT = 2000


def _cid(data: dict[str, Any], what: str) -> str | None:
    # A missing cid is not a protocol error: the conversation core dismisses (and
    # counts) such messages, as the protocol asks.
    return read(data, "__cid", str, what, required=False)


@dataclass(frozen=True)
class DialogParse(Message):
    """Raw text to understand: the payload is the text itself, not JSON."""

    TOPIC = Topic("atlas/{sid}/dialog/parse")
    sid: str
    text: str

    def to_payload(self) -> bytes:
        return self.text.encode()

    @classmethod
    def from_payload(cls, params: dict[str, str], payload: bytes | str) -> Self:
        if len(payload) > MAX_PAYLOAD:
            raise ProtocolError(f"dialog parse: payload of {len(payload)} bytes is too large")
        try:
            text = payload.decode() if isinstance(payload, bytes) else payload
        except UnicodeDecodeError:
            raise ProtocolError("dialog parse: payload is not UTF-8 text") from None
        text = text.strip()
        if not text:
            raise ProtocolError("dialog parse: empty text")
        if len(text) > MAX_TEXT:
            raise ProtocolError(f"dialog parse: text longer than {MAX_TEXT} characters")
        return cls(params["sid"], text)


@dataclass(frozen=True)
class DialogAsk(Message):
    TOPIC = Topic("atlas/{sid}/dialog/ask")
    sid: str
    cid: str | None
    text: str
    slot: str | None = None
    choices: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {**self.extra, "__cid": self.cid, "text": self.text}
        if self.slot is not None:
            data["slot"] = self.slot
        if self.choices is not None:
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "dialog ask"
        slot = read(data, "slot", str, what, required=False)
        choices = str_list(data, "choices", what)
        if slot is None and not choices:
            raise ProtocolError(f"{what}: 'choices' is mandatory when no 'slot' is given")
        return cls(params["sid"], _cid(data, what),
                   read(data, "text", str, what, required=False, default=""),
                   slot, choices, {k: v for k, v in public(data, "text", "slot", "choices").items()
                                   if not (k == "cards" and v is None)})


@dataclass(frozen=True)
class DialogShow(Message):
    TOPIC = Topic("atlas/{sid}/dialog/show")
    sid: str
    cid: str | None
    text: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.extra, "__cid": self.cid, "text": self.text}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "dialog show"
        # A show has no slot or choices: atlas-sdk 1.1 re-sends its last ask's keys
        # on later shows (a shared default dict), and may send "cards": null.
        extra = {k: v for k, v in public(data, "text", "slot", "choices").items()
                 if not (k == "cards" and v is None)}
        return cls(params["sid"], _cid(data, what),
                   read(data, "text", str, what, required=False, default=""), extra)


@dataclass(frozen=True)
class DialogTerminate(Message):
    """The skill is done; ``error`` (``"reason": "error"``) says its handler failed."""

    TOPIC = Topic("atlas/{sid}/dialog/terminate")
    sid: str
    cid: str | None
    error: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"__cid": self.cid}
        if self.error:
            data["reason"] = "error"
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(params["sid"], _cid(data, "dialog terminate"), data.get("reason") == "error")


@dataclass(frozen=True)
class DialogContext(Message):
    """Enter a context (``name``) or go back to the root (``name`` null)."""

    TOPIC = Topic("atlas/{sid}/dialog/context")
    sid: str
    cid: str | None
    name: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"__cid": self.cid, "name": self.name}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "dialog context"
        name = read(data, "name", str, what, required=False)
        if name is not None and (not name or "/" in name or len(name) > 64):
            raise ProtocolError(f"{what}: invalid context name {name!r}")
        return cls(params["sid"], _cid(data, what), name)


@dataclass(frozen=True)
class DialogNotify(TextMessage):
    """Something a skill tells the user outside any conversation (a timer firing)."""

    TOPIC = Topic("atlas/{sid}/dialog/notify")


#: Largest structured input or session data a channel may send, in bytes of JSON.
MAX_DATA = 64 * 1024


def _object(data: dict[str, Any], what: str) -> dict[str, Any]:
    value = read(data, "data", dict, what)
    if len(encode_json(value)) > MAX_DATA:
        raise ProtocolError(f"{what}: 'data' larger than {MAX_DATA} bytes")
    return dict(value)


@dataclass(frozen=True)
class DialogData(Message):
    """Structured input from a channel (a button's value, a form, an image).

    It answers a pending ask, or calls the intent it names (``intent``, or else its
    first key that is an intent) with it in ``__data``.
    """

    TOPIC = Topic("atlas/{sid}/dialog/data")
    sid: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(params["sid"], _object(data, "dialog data"))


@dataclass(frozen=True)
class DialogSession(Message):
    """Data merged into the channel's session data (``__session`` of every request)."""

    TOPIC = Topic("atlas/{sid}/dialog/session")
    sid: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(params["sid"], _object(data, "dialog session"))
