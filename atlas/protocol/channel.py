"""Channel topics: between the daemon and whatever talks to a user (terminal, bridge, device)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

from .base import Message, ProtocolError, TextMessage, Topic, public, read, str_list


class Reason(StrEnum):
    """Why a conversation ended, carried by ``channel/terminate``."""

    NOMINAL = "nominal"
    CANCELLED = "cancelled"
    NOT_UNDERSTOOD = "not_understood"
    TIMEOUT = "timeout"
    SKILL_GONE = "skill_gone"
    ERROR = "error"


@dataclass(frozen=True)
class ChannelCreate(Message):
    """Ask for an agent on a sid.

    ``session`` (optional) is merged into the channel's session data; ``welcome``
    asks for a welcome message when the sid is new to the daemon (channels that do
    not ask get none: an unsolicited message would surprise them).
    """

    TOPIC = Topic("atlas/{sid}/channel/create")
    sid: str
    uid: str
    session: dict[str, Any] | None = None
    welcome: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"uid": self.uid}
        if self.session is not None:
            data["session"] = self.session
        if self.welcome:
            data["welcome"] = True
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "channel create"
        uid = read(data, "uid", str, what)
        if not uid.strip() or len(uid) > 128:
            raise ProtocolError("channel create: 'uid' must be 1 to 128 characters")
        session = read(data, "session", dict, what, required=False)
        welcome = read(data, "welcome", bool, what, required=False, default=False)
        return cls(params["sid"], uid, session, welcome)


@dataclass(frozen=True)
class ChannelCreated(Message):
    TOPIC = Topic("atlas/{sid}/channel/created")
    sid: str
    lang: str

    def to_dict(self) -> dict[str, Any]:
        return {"lang": self.lang}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(params["sid"], read(data, "lang", str, "channel created"))


@dataclass(frozen=True)
class ChannelDestroy(Message):
    TOPIC = Topic("atlas/{sid}/channel/destroy")
    sid: str


@dataclass(frozen=True)
class ChannelDestroyed(Message):
    TOPIC = Topic("atlas/{sid}/channel/destroyed")
    sid: str


@dataclass(frozen=True)
class ChannelShow(TextMessage):
    """Something to show the user: a skill's show, a notification, the daemon's own words."""

    TOPIC = Topic("atlas/{sid}/channel/show")


@dataclass(frozen=True)
class ChannelAsk(Message):
    TOPIC = Topic("atlas/{sid}/channel/ask")
    sid: str
    text: str
    slot: str | None = None
    choices: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {**self.extra, "text": self.text}
        if self.slot is not None:
            data["slot"] = self.slot
        if self.choices is not None:
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "channel ask"
        return cls(params["sid"], read(data, "text", str, what, required=False, default=""),
                   read(data, "slot", str, what, required=False), str_list(data, "choices", what),
                   public(data, "text", "slot", "choices"))


@dataclass(frozen=True)
class ChannelWork(Message):
    TOPIC = Topic("atlas/{sid}/channel/work")
    sid: str


@dataclass(frozen=True)
class ChannelTerminate(Message):
    TOPIC = Topic("atlas/{sid}/channel/terminate")
    sid: str
    reason: Reason = Reason.NOMINAL

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason.value}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        reason = read(data, "reason", str, "channel terminate", required=False, default="nominal")
        try:
            return cls(params["sid"], Reason(reason))
        except ValueError:
            raise ProtocolError(f"channel terminate: unknown reason {reason!r}") from None


@dataclass(frozen=True)
class ChannelContext(Message):
    """The sid's current context; ``None`` is the root."""

    TOPIC = Topic("atlas/{sid}/channel/context")
    sid: str
    name: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(params["sid"], read(data, "name", str, "channel context", required=False))
