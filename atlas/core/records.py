"""A channel as a plain JSON record, to be kept by a store across daemon restarts.

Pure functions: :func:`to_record` and :func:`from_record` round-trip a
:class:`~atlas.core.conversation.Channel` exactly. Records carry a version; one
the daemon cannot read raises :class:`RecordError` (the store leaves it out and
says so).
"""

from __future__ import annotations

from typing import Any

from ..protocol import DialogAsk, DialogNotify, ProtocolError
from .conversation import Channel, Conversation
from .events import UserGave, UserSaid

#: Bump when the record's shape changes (and teach :func:`from_record` the old one).
VERSION = 1


class RecordError(ValueError):
    """A stored record that cannot be read back."""


def to_record(channel: Channel) -> dict[str, Any]:
    conversation = channel.conversation
    return {
        "version": VERSION, "sid": channel.sid, "uid": channel.uid, "lang": channel.lang,
        "context": channel.context, "generation": channel.generation,
        "told_full": channel.told_full, "session": channel.session,
        "conversation": None if conversation is None else _conversation(conversation),
        "queue": [_queued(item) for item in channel.queue],
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    ask = conversation.ask
    return {"cid": conversation.cid, "intent": conversation.intent, "skill": conversation.skill,
            "text": conversation.text, "lang": conversation.lang, "slots": conversation.slots,
            "env": conversation.env, "ask": None if ask is None else ask.to_dict(),
            "shows": conversation.shows}


def _queued(item: UserSaid | UserGave | DialogNotify) -> dict[str, Any]:
    if isinstance(item, UserSaid):
        return {"said": {"text": item.text, "cid": item.cid, "lang": item.lang,
                         "settings": item.settings}}
    if isinstance(item, UserGave):
        return {"gave": {"data": item.data, "cid": item.cid, "lang": item.lang,
                         "settings": item.settings}}
    return {"notify": item.to_dict()}


def from_record(record: dict[str, Any] | None) -> Channel:
    if not isinstance(record, dict) or record.get("version") != VERSION:
        version = record.get("version") if isinstance(record, dict) else None
        raise RecordError(f"channel record version {version!r}, this daemon reads {VERSION}")
    try:
        sid = record["sid"]
        raw = record["conversation"]
        return Channel(
            sid=sid, uid=record["uid"], lang=record["lang"], context=record["context"],
            conversation=None if raw is None else _read_conversation(sid, raw),
            queue=tuple(_read_queued(sid, item) for item in record["queue"]),
            generation=int(record["generation"]),
            session=dict(record.get("session") or {}),
            told_full=bool(record.get("told_full", False)),
        )
    except (KeyError, TypeError, ValueError, ProtocolError) as error:
        raise RecordError(f"unreadable channel record: {error!r}") from None


def _read_conversation(sid: str, raw: dict[str, Any]) -> Conversation:
    ask = raw["ask"]
    return Conversation(
        cid=raw["cid"], intent=raw["intent"], skill=raw["skill"], text=raw["text"],
        lang=raw["lang"], slots=dict(raw["slots"]), env=dict(raw["env"]),
        ask=None if ask is None else DialogAsk.from_dict({"sid": sid}, ask),
        shows=int(raw.get("shows", 0)))


def _read_queued(sid: str, item: dict[str, Any]) -> UserSaid | UserGave | DialogNotify:
    if "said" in item:
        said = item["said"]
        return UserSaid(sid, said["text"], said["cid"], said["lang"], dict(said["settings"]))
    if "gave" in item:
        gave = item["gave"]
        return UserGave(sid, dict(gave["data"]), gave["cid"], gave["lang"],
                        dict(gave["settings"]))
    return DialogNotify.from_dict({"sid": sid}, item["notify"])
