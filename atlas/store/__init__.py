"""Where users, their language, their skill settings and their credentials live;
bots and their guests' sessions and images too."""

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

__all__ = ["Bot", "BotExists", "GuestSession", "Store", "UnknownBot", "UnknownUser", "User",
           "UserExists"]
