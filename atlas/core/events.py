"""What goes into the conversation core (events) and what comes out (effects).

Skills' dialog messages are events as they are (``DialogAsk``, ``DialogShow``…,
from :mod:`atlas.protocol`); the few below are what the shell adds: what it looked
up (the user's language and settings, a fresh conversation id) and what happened
around the core (a deadline passing, a skill leaving).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol import (
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogSession,
    DialogShow,
    DialogTerminate,
    Message,
)


@dataclass(frozen=True)
class Opened:
    """A channel asked for an agent; ``lang`` is its user's language.

    ``session`` is merged into the channel's session data; ``welcome`` asks for a
    welcome when the sid is new, started with ``cid`` and the user's ``settings``.
    """

    sid: str
    uid: str
    lang: str
    session: dict[str, Any] | None = None
    welcome: bool = False
    cid: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Closed:
    sid: str


@dataclass(frozen=True)
class UserSaid:
    """Text typed on a channel, with what the shell knew when it arrived.

    ``cid`` is a fresh id, used if this text starts a conversation; ``settings``
    are the user's env values over the configured defaults; ``lang`` is the
    user's current language; ``now`` (POSIX seconds) is when it was said, what
    "in ten minutes" counts from, so that replaying events gives the same result.
    """

    sid: str
    text: str
    cid: str
    lang: str
    settings: dict[str, Any] = field(default_factory=dict)
    now: float | None = None


@dataclass(frozen=True)
class UserGave:
    """Structured input sent on a channel (``dialog/data``), with what the shell knew,
    as for :class:`UserSaid`."""

    sid: str
    data: dict[str, Any]
    cid: str
    lang: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlinePassed:
    """The deadline armed by :class:`Deadline` with this ``generation`` is over."""

    sid: str
    generation: int


@dataclass(frozen=True)
class SkillGone:
    name: str


@dataclass(frozen=True)
class Resumed:
    """The daemon restarted and restored this sid from the store.

    A question stays asked (the answer continues the conversation); a skill that
    was working lost its connection to this conversation, so that one ends.
    """

    sid: str


@dataclass(frozen=True)
class OverBudget:
    """The conversation ``cid`` on ``sid`` went past a budget of the daemon's reader
    (messages or bytes a second): its skill is cut short, ``reason`` says why."""

    sid: str
    cid: str
    reason: str


SkillSaid = DialogAsk | DialogShow | DialogTerminate | DialogContext | DialogNotify
Event = (Opened | Closed | UserSaid | UserGave | DialogSession | DeadlinePassed | SkillGone
         | Resumed | OverBudget | SkillSaid)


@dataclass(frozen=True)
class Publish:
    message: Message
    retain: bool = False


@dataclass(frozen=True)
class Deadline:
    """Arm (or with ``seconds=None`` disarm) the sid's single deadline."""

    sid: str
    generation: int
    seconds: float | None


@dataclass(frozen=True)
class Dismissed:
    """A message dropped on purpose: logged and counted by the shell."""

    sid: str
    what: str
    reason: str


@dataclass(frozen=True)
class Throttled:
    """A skill went past a budget: its conversation was ended; the operator must know."""

    sid: str
    skill: str
    reason: str


Effect = Publish | Deadline | Dismissed | Throttled
