"""The atlas wire protocol: every topic and payload, defined once.

Each message is a frozen dataclass with its topic template (``TOPIC``), ``topic()``
for the concrete topic, ``subscription()`` for the wildcard, and
``to_payload``/``from_payload``. :func:`parse_message` turns an incoming MQTT
message into the right class.
"""

from __future__ import annotations

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
    EnvSetting,
    Ping,
    Pong,
    Skills,
    SkillSummary,
    in_language,
)
from .intents import IntentRequest, topic_for

#: Messages the daemon listens to.
DAEMON_INBOX: tuple[type[Message], ...] = (
    Pong, Bye, ChannelCreate, ChannelDestroy,
    DialogParse, DialogAsk, DialogShow, DialogTerminate, DialogContext, DialogNotify,
    DialogData, DialogSession,
)

#: Messages a channel listens to, for one sid.
CHANNEL_INBOX: tuple[type[Message], ...] = (
    ChannelCreated, ChannelDestroyed, ChannelShow, ChannelAsk, ChannelWork,
    ChannelTerminate, ChannelContext,
)


def parse_message(topic: str, payload: bytes | str,
                  among: tuple[type[Message], ...]) -> Message | None:
    """Decode a message of one of the ``among`` classes; ``None`` if no topic matches.

    Raises :class:`ProtocolError` when the topic matches but the payload is bad.
    """
    for kind in among:
        params = (IntentRequest.match_topic(topic) if kind is IntentRequest
                  else kind.TOPIC.match(topic))
        if params is not None:
            return kind.from_payload(params, payload)
    return None


__all__ = [
    "CHANNEL_INBOX", "DAEMON_INBOX", "FALLBACK_INTENT", "MAX_PAYLOAD", "WELCOME_INTENT",
    "Bye", "ChannelAsk", "ChannelContext", "ChannelCreate", "ChannelCreated",
    "ChannelDestroy", "ChannelDestroyed", "ChannelShow", "ChannelTerminate", "ChannelWork",
    "DialogAsk", "DialogContext", "DialogData", "DialogNotify", "DialogParse",
    "DialogSession", "DialogShow", "DialogTerminate", "EnvSetting", "IntentRequest",
    "Message", "Ping", "Pong", "ProtocolError", "Reason", "SkillSummary", "Skills", "Topic",
    "in_language", "parse_message", "topic_for", "valid_level",
]
