"""Where users, their language, their skill settings, their credentials and the
daemon's conversations live."""

from .conversations import (
    Armed,
    Batch,
    ConversationState,
    SqliteConversationState,
    Stored,
)
from .sqlite import Store, UnknownUser, User, UserExists

__all__ = ["Armed", "Batch", "ConversationState", "SqliteConversationState", "Store",
           "Stored", "UnknownUser", "User", "UserExists"]
