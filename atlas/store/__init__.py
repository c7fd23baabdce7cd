"""Where users, their language, their skill settings and their credentials live;
bots and their guests' sessions and images too; and the daemon's conversations."""

from .conversations import (
    Armed,
    Batch,
    ConversationState,
    Outbox,
    SqliteConversationState,
    Stored,
)
from .sqlite import (
    Bot,
    BotExists,
    GuestSession,
    Store,
    UnknownBot,
    UnknownUser,
    User,
    UserExists,
)

__all__ = ["Armed", "Batch", "Bot", "BotExists", "ConversationState", "GuestSession",
           "Outbox", "SqliteConversationState", "Store", "Stored", "UnknownBot", "UnknownUser",
           "User", "UserExists"]
