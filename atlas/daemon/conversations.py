"""The shell around the conversation core: channels in memory, deadlines on the loop."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..core import (
    Channel,
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Event,
    Opened,
    Publish,
    UserGave,
    UserSaid,
    World,
    handle,
)
from ..protocol import ChannelCreate, ChannelDestroy, DialogData, DialogParse, Message
from ..store import Store, User
from .inbox import FairInbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class _Fired:
    """A deadline that went off; it counts only if it is still the sid's armed one.

    The core's generation numbers restart when a sid is destroyed and created
    again, so a firing already queued could match the new conversation: the
    identity of this object, not the number, tells.
    """

    event: DeadlinePassed


class Conversations:
    """Keeps every sid's :class:`Channel` and carries out what the core decides.

    Deadlines become :class:`DeadlinePassed` events put back into ``inbox``, so the
    core sees them in order with everything else.
    """

    def __init__(self, config: Config, store: Store, inbox: FairInbox[Any]) -> None:
        self.config = config
        self.store = store
        self.inbox = inbox
        self.channels: dict[str, Channel] = {}
        self.dismissed: Counter[str] = Counter()
        self._deadlines: dict[str, tuple[asyncio.TimerHandle, _Fired]] = {}

    def event_for(self, message: Message | Event | _Fired) -> Event | None:
        """Turn what arrived into a core event, adding what only the shell can look up."""
        if isinstance(message, _Fired):
            armed = self._deadlines.get(message.event.sid)
            if armed is None or armed[1] is not message:
                return None
            del self._deadlines[message.event.sid]
            return message.event
        if isinstance(message, ChannelCreate):
            lang, settings = self._profile(message.uid)
            return Opened(message.sid, message.uid, lang, message.session, message.welcome,
                          uuid.uuid4().hex, settings)
        if isinstance(message, ChannelDestroy):
            return Closed(message.sid)
        if isinstance(message, DialogParse | DialogData):
            channel = self.channels.get(message.sid)
            if channel is None:
                self._dismiss(Dismissed(message.sid, type(message).__name__, "unknown sid"))
                return None
            lang, settings = self._profile(channel.uid)
            if isinstance(message, DialogData):
                return UserGave(message.sid, message.data, uuid.uuid4().hex, lang, settings)
            return UserSaid(message.sid, message.text, uuid.uuid4().hex, lang, settings,
                            time.time())
        return message  # type: ignore[return-value]  # dialog messages are core events

    def _profile(self, uid: str) -> tuple[str, dict[str, Any]]:
        """The user's language and env values over the configured defaults."""
        user = self._user(uid)
        settings = {**self.config.env, **(user.env if user else {})}
        return (user.lang if user else self.config.default_lang), settings

    def apply(self, event: Event, world: World) -> list[Publish]:
        changes, effects = handle(self.channels, event, world)
        for sid, channel in changes.items():
            if channel is None:
                self.channels.pop(sid, None)
            else:
                self.channels[sid] = channel
        publishes: list[Publish] = []
        for effect in effects:
            if isinstance(effect, Publish):
                publishes.append(effect)
            elif isinstance(effect, Deadline):
                self._arm(effect)
            else:
                self._dismiss(effect)
        return publishes

    def _user(self, uid: str) -> User | None:
        try:
            # A bot's guest ("NAME/session") has the bot's language and env.
            return self.store.user(uid) or self.store.guest(uid)
        except Exception:  # a store failure must not stop the conversation
            log.exception("store lookup failed; using defaults")
            return None

    def _arm(self, deadline: Deadline) -> None:
        previous = self._deadlines.pop(deadline.sid, None)
        if previous is not None:
            previous[0].cancel()
        if deadline.seconds is not None:
            fired = _Fired(DeadlinePassed(deadline.sid, deadline.generation))
            timer = asyncio.get_running_loop().call_later(
                deadline.seconds, self.inbox.put, deadline.sid, fired)
            self._deadlines[deadline.sid] = (timer, fired)

    def _dismiss(self, dismissed: Dismissed) -> None:
        self.dismissed[dismissed.reason.split(" ")[0]] += 1
        log.info("dismissed %s on sid %s: %s", dismissed.what, dismissed.sid, dismissed.reason)

    def close(self) -> None:
        for timer, _ in self._deadlines.values():
            timer.cancel()
        self._deadlines.clear()
