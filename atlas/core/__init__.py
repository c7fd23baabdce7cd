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
    step,
)
from .events import (
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Effect,
    Event,
    Opened,
    Publish,
    SkillGone,
    UserGave,
    UserSaid,
)
from .skills import Catalog, Registry

__all__ = [
    "Catalog", "Changes", "Channel", "Closed", "Conversation", "Deadline", "DeadlinePassed",
    "Dismissed", "Effect", "Event", "Opened", "Phase", "Publish", "Registry", "SkillGone",
    "SlotValues", "Understanding", "Understood", "UserGave", "UserSaid", "World", "handle", "step",
]
