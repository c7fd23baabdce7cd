"""The atlas wire protocol: every topic and payload, defined once.

Each message is a frozen dataclass with its topic template (``TOPIC``), ``topic()``
for the concrete topic, ``subscription()`` for the wildcard, and
``to_payload``/``from_payload``. :func:`parse_message` turns an incoming MQTT
message into the right class.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .base import MAX_PAYLOAD, Message, ProtocolError, Topic, valid_level
from .channel import (
    ChannelAsk,
    ChannelContext,
    ChannelCreate,
    ChannelCreated,
    ChannelDestroy,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    Reason,
)
from .dialog import (
    DialogAsk,
    DialogContext,
    DialogData,
    DialogNotify,
    DialogParse,
    DialogSession,
    DialogShow,
    DialogTerminate,
)
from .discovery import (
    FALLBACK_INTENT,
    WELCOME_INTENT,
    Bye,
    DaemonSent,
    EnvSetting,
    Ping,
    Pong,
    SkillBye,
    SkillPong,
    Skills,
    SkillSummary,
    in_language,
)
from .intents import IntentRequest, topic_for

#: Messages the daemon listens to.
DAEMON_INBOX: tuple[type[Message], ...] = (
    Pong, Bye, SkillPong, SkillBye, ChannelCreate, ChannelDestroy,
    DialogParse, DialogAsk, DialogShow, DialogTerminate, DialogContext, DialogNotify,
    DialogData, DialogSession,
)

#: Messages a channel sends (the rest of the daemon's inbox is skills').
CHANNEL_OUTBOX: tuple[type[Message], ...] = (
    ChannelCreate, ChannelDestroy, DialogParse, DialogData, DialogSession,
)

#: Messages a channel listens to, for one sid.
CHANNEL_INBOX: tuple[type[Message], ...] = (
    ChannelCreated, ChannelDestroyed, ChannelShow, ChannelAsk, ChannelWork,
    ChannelTerminate, ChannelContext,
)


#: What a skill says in a conversation: each carries the conversation's ``__cid``.
SKILL_SPEECH: tuple[type[DialogShow], type[DialogAsk], type[DialogContext],
                   type[DialogTerminate]] = (DialogShow, DialogAsk, DialogContext, DialogTerminate)


def parse_message(topic: str, payload: bytes | str,
                  among: tuple[type[Message], ...]) -> Message | None:
    """Decode a message of one of the ``among`` classes; ``None`` if no topic matches.

    When several could match, the first in ``among`` wins. Raises
    :class:`ProtocolError` when the topic matches but the payload is bad.
    """
    found = topic_kind(topic, among)
    if found is None:
        return None
    kind, params = found
    message = kind.from_payload(params, payload)
    # Frozen, and not a field (equality ignores it): see Message.wire_size.
    message.__dict__["_wire_size"] = len(payload)
    return message


def topic_kind(topic: str, among: tuple[type[Message], ...]
               ) -> tuple[type[Message], dict[str, str]] | None:
    """Which of the ``among`` classes a topic is for, and its parameters: the topic
    alone, the payload not decoded yet (:func:`parse_message` decodes it)."""
    by_shape, intents, seen = _index(among)
    found = seen.get(topic, _UNSEEN)
    if found is _UNSEEN:
        found = _match(topic, by_shape, intents)
        if len(seen) >= SEEN_TOPICS:
            seen.clear()
        seen[topic] = found
    if found is None:
        return None
    kind, params = found
    return kind, dict(params)      # the caller's own: the cached one stays as it is


#: Topics remembered per set of kinds: a flood repeats its topic thousands of times,
#: and each is then one dictionary access rather than a template match.
SEEN_TOPICS = 4096
_UNSEEN: Any = object()


def _match(topic: str, by_shape: dict[tuple[int, str | None], tuple[type[Message], ...]],
           intents: bool) -> tuple[type[Message], dict[str, str]] | None:
    levels = topic.count("/")
    candidates = (by_shape.get((levels, topic.rpartition("/")[2]))
                  or by_shape.get((levels, None), ()))
    for kind in candidates:
        params = kind.TOPIC.match(topic)
        if params is not None:
            return kind, params
    if intents and (params := IntentRequest.match_topic(topic)) is not None:
        return IntentRequest, params
    return None


@lru_cache(maxsize=64)
def _index(among: tuple[type[Message], ...]
           ) -> tuple[dict[tuple[int, str | None], tuple[type[Message], ...]], bool,
                      dict[str, tuple[type[Message], dict[str, str]] | None]]:
    """The kinds by topic shape (separators, last level or None for a parameter), so
    a message is matched against one or two templates, not all of them: the
    daemon reads some twenty kinds. A fixed last level's entry also holds the
    kinds whose last level is a parameter, in ``among``'s order, so that a lookup
    is one dictionary access on the path every message takes. Then whether
    ``among`` holds intents, and the topics already matched (:data:`SEEN_TOPICS`)."""
    shapes: dict[tuple[int, str | None], list[type[Message]]] = {}
    for kind in among:
        if kind is IntentRequest:
            continue  # intent names span levels: matched by prefix, last
        template = kind.TOPIC.template
        tail = template.rpartition("/")[2]
        key = (template.count("/"), None if tail.startswith("{") else tail)
        shapes.setdefault(key, []).append(kind)
    index = {key: tuple(kinds) for key, kinds in shapes.items()}
    for (levels, last), kinds in shapes.items():
        if last is not None and (levels, None) in shapes:
            merged = {*kinds, *shapes[(levels, None)]}
            index[(levels, last)] = tuple(k for k in among if k in merged)
    return index, IntentRequest in among, {}


__all__ = [
    "CHANNEL_INBOX", "CHANNEL_OUTBOX", "DAEMON_INBOX", "FALLBACK_INTENT", "MAX_PAYLOAD",
    "SKILL_SPEECH", "WELCOME_INTENT",
    "Bye", "ChannelAsk", "ChannelContext", "ChannelCreate", "ChannelCreated",
    "ChannelDestroy", "ChannelDestroyed", "ChannelShow", "ChannelTerminate", "ChannelWork",
    "DaemonSent", "DialogAsk", "DialogContext", "DialogData", "DialogNotify", "DialogParse",
    "DialogSession", "DialogShow", "DialogTerminate", "EnvSetting", "IntentRequest",
    "Message", "Ping", "Pong", "ProtocolError", "Reason", "SkillBye", "SkillPong",
    "SkillSummary", "Skills", "Topic",
    "in_language", "parse_message", "topic_for", "topic_kind", "valid_level",
]
