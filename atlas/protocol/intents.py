"""The intent topic: the daemon asking a skill to handle an understood request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from .base import Message, ProtocolError, Topic, public, read, valid_level

PREFIX = "atlas/intents/"

#: Sentinel distinguishing "no __choice key" from an explicit choice.
NO_CHOICE: None = None


@dataclass(frozen=True)
class IntentRequest(Message):
    """``atlas/intents/{intent}``; the intent may hold a context prefix (``ctx/name``).

    ``slots`` is the flat form (one value, or a list for several), ``rich_slots`` the
    ``__slots`` form: ``{slot: [{"value", "raw", "entity"}]}``. ``data`` is the
    structured input of this call (``__data``, absent when the user typed), ``session``
    the channel's session data (``__session``, on every call).
    """

    TOPIC = Topic("atlas/intents/{intent}")
    intent: str
    cid: str
    sid: str
    uid: str
    lang: str
    version: str
    env: dict[str, Any] = field(default_factory=dict)
    slots: dict[str, Any] = field(default_factory=dict)
    rich_slots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    choice: str | None = NO_CHOICE
    text: str = ""
    data: dict[str, Any] | None = None
    session: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {"intent": self.intent}

    def topic(self) -> str:
        return topic_for(self.intent)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.slots,
            "__cid": self.cid, "__sid": self.sid, "__uid": self.uid, "__lang": self.lang,
            "__version": self.version, "__env": self.env, "__slots": self.rich_slots,
            "__text": self.text, "__session": self.session,
        }
        if self.choice is not None:
            data["__choice"] = self.choice
        if self.data is not None:
            data["__data"] = self.data
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = f"intent {params.get('intent')}"
        return cls(
            intent=params["intent"],
            cid=read(data, "__cid", str, what),
            sid=read(data, "__sid", str, what),
            uid=read(data, "__uid", str, what, required=False, default=""),
            lang=read(data, "__lang", str, what, required=False, default="en"),
            version=read(data, "__version", str, what, required=False, default=""),
            env=read(data, "__env", dict, what, required=False, default={}),
            slots=public(data),
            rich_slots=read(data, "__slots", dict, what, required=False, default={}),
            choice=read(data, "__choice", str, what, required=False),
            text=read(data, "__text", str, what, required=False, default=""),
            data=read(data, "__data", dict, what, required=False),
            session=read(data, "__session", dict, what, required=False, default={}),
        )

    @classmethod
    def match_topic(cls, topic: str) -> dict[str, str] | None:
        """Intent names may span levels (``context/intent``), so match by prefix."""
        if not topic.startswith(PREFIX):
            return None
        intent = topic[len(PREFIX):]
        if not intent or not all(valid_level(level) for level in intent.split("/")):
            return None
        return {"intent": intent}


def topic_for(intent: str) -> str:
    if not intent or not all(valid_level(level) for level in intent.split("/")):
        raise ProtocolError(f"invalid intent name {intent!r}")
    return PREFIX + intent
