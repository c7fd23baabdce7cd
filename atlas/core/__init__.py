"""The conversation core: pure state machines, no I/O, no clock.

Events in (:mod:`.events`, and skills' dialog messages), effects out (messages
to publish, deadlines to arm, messages dismissed). The daemon is a thin shell
around :func:`handle`.
"""

from .assistant import Changes, handle
from .conversation import (
    Channel,
    Conversation,
    Phase,
    SlotValues,
    Understanding,
    Understood,
    World,
    refused_alike,
    speech_unread,
    stale_speech,
    step,
    text_unread,
)
from .events import (
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Effect,
    Event,
    Opened,
    OverBudget,
    Publish,
    Resumed,
    SkillGone,
    Throttled,
    UserGave,
    UserSaid,
)
from .records import RecordError, from_record, to_record
from .skills import Catalog, Registry

__all__ = [
    "Catalog", "Changes", "Channel", "Closed", "Conversation", "Deadline", "DeadlinePassed",
    "Dismissed", "Effect", "Event", "Opened", "OverBudget", "Phase", "Publish", "RecordError",
    "Registry",
    "Resumed", "SkillGone", "SlotValues", "Throttled", "Understanding", "Understood",
    "UserGave", "UserSaid", "World", "from_record", "handle", "refused_alike",
    "speech_unread", "stale_speech", "step", "text_unread", "to_record",
]
