"""Where users, their language, their skill settings and their credentials live."""

from .sqlite import Store, UnknownUser, User, UserExists

__all__ = ["Store", "UnknownUser", "User", "UserExists"]
