"""The shell around the conversation core: channels in memory, written through to a
:class:`~atlas.store.ConversationState`, deadlines on the loop (or, with several
daemons, claimed from Redis: :mod:`atlas.daemon.sharing`)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
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
    RecordError,
    Resumed,
    Throttled,
    UserGave,
    UserSaid,
    World,
    from_record,
    handle,
    refused_alike,
    speech_unread,
    stale_speech,
    text_unread,
    to_record,
)
from ..protocol import (
    SKILL_SPEECH,
    ChannelCreate,
    ChannelDestroy,
    DialogData,
    DialogParse,
    Message,
    topic_kind,
)
from ..store import Armed, ConversationState, Store, Stored, User
from ..store.redis_state import Claim
from .inbox import FairInbox

log = logging.getLogger(__name__)

#: Seconds between two log lines about dismissed messages of one kind.
DISMISS_LOG_EVERY = 1.0
#: What may be dropped before it is decoded (:meth:`Conversations.unread`).
_UNREAD = (*SKILL_SPEECH, DialogParse)
#: Conversation ids drawn from the kernel at once.
CID_POOL = 256


def conversation_ids() -> Iterator[str]:
    """Conversation ids (``__cid``): 128 random bits in hex, as ``uuid4().hex`` but
    without a system call each (every text takes one, refused or not). Random, not
    counted: a skill must not guess the cid of another skill's conversation."""
    while True:
        pool = os.urandom(16 * CID_POOL).hex()
        for start in range(0, len(pool), 32):
            yield pool[start:start + 32]


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
    core sees them in order with everything else; without ``timers``, they are only
    noted, for a :class:`~atlas.store.redis_state.Claim` to fire them. The sids an
    event changed are noted in :attr:`dirty`; :meth:`save` writes them (channels
    and deadlines) to ``state`` as one batch, before the batch's messages are
    published, and :meth:`restore` brings them back after a restart.
    """

    def __init__(self, config: Config, store: Store, inbox: FairInbox[Any],
                 state: ConversationState | None = None, *, timers: bool = True) -> None:
        self.config = config
        self.store = store
        self.inbox = inbox
        self.state = state
        self.timers = timers
        self.channels: dict[str, Channel] = {}
        #: Sids changed since the last :meth:`take_dirty`.
        self.dirty: set[str] = set()
        self.dismissed: Counter[str] = Counter()
        #: Skills cut short for going past a budget, and why (the operator sees them).
        self.throttled: dict[str, str] = {}
        self._last_dismiss_log: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()
        self._deadlines: dict[str, tuple[asyncio.TimerHandle | None, _Fired, Armed]] = {}
        self._cid = conversation_ids().__next__
        #: Channels came back from the last run and wait for the first training.
        self.resuming = False

    def restore(self) -> int:
        """Load the stored channels, re-arm their deadlines, and resume each one.

        Deadlines that passed while the daemon was down fire at once. Returns how
        many channels came back.
        """
        if self.state is None:
            return 0
        now = time.time()
        for sid, stored in sorted(self.state.load().items()):
            try:
                channel = from_record(stored.record)
            except RecordError as error:
                log.error("channel %s not restored: %s", sid, error)
                continue
            self.channels[sid] = channel
            self.inbox.put(sid, Resumed(sid))
            if stored.deadline is not None:
                armed = stored.deadline
                self._arm(Deadline(sid, armed.generation, max(0.0, armed.at - now)), now)
        self.resuming = bool(self.channels)
        return len(self.channels)

    def event_for(self, message: Message | Event | _Fired | Claim) -> Event | None:
        """Turn what arrived into a core event, adding what only the shell can look up."""
        if isinstance(message, Claim):
            armed = self._deadlines.get(message.sid)
            if armed is None or armed[2].generation != message.generation \
                    or armed[2].at > message.at + 0.001:
                # Stale (disarmed, re-armed, or moved later since it was stored as
                # claimed): the write puts the sid's deadline right.
                self.dirty.add(message.sid)
                return None
            del self._deadlines[message.sid]
            self.dirty.add(message.sid)       # fired: the write takes it off the set
            return armed[1].event
        if isinstance(message, _Fired):
            armed = self._deadlines.get(message.event.sid)
            if armed is None or armed[1] is not message:
                return None
            del self._deadlines[message.event.sid]
            return message.event
        if isinstance(message, ChannelCreate):
            lang, settings = self._profile(message.uid)
            return Opened(message.sid, message.uid, lang, message.session, message.welcome,
                          self._cid(), settings)
        if isinstance(message, ChannelDestroy):
            return Closed(message.sid)
        if isinstance(message, DialogParse | DialogData):
            channel = self.channels.get(message.sid)
            if channel is None:
                self._dismiss(Dismissed(message.sid, type(message).__name__, "unknown sid"))
                return None
            lang, settings = self._profile(channel.uid)
            if isinstance(message, DialogData):
                return UserGave(message.sid, message.data, self._cid(), lang, settings)
            return UserSaid(message.sid, message.text, self._cid(), lang, settings,
                            time.time())
        return message  # type: ignore[return-value]  # dialog messages are core events

    def drop_stale(self, message: Message) -> bool:
        """Whether ``message``, a skill's words whose ``__cid`` is not the running
        conversation's (:func:`~atlas.core.stale_speech`), was dismissed as it was read,
        counted and logged as the core's dismissals. On a sid with no conversation
        :meth:`unread` drops them before they are decoded."""
        if not isinstance(message, SKILL_SPEECH):
            return False
        channel = self.channels.get(message.sid)
        stale = stale_speech(channel, message) if channel is not None else None
        if stale is None:
            return False
        self._dismiss(stale)
        return True

    def unread(self, topic: str, payload: bytes, world: World, *, training: bool) -> bool:
        """Whether the message on ``topic`` is dropped before its payload is decoded
        (counted and logged as the core's dismissals): a skill's words on a sid with no
        conversation (:func:`~atlas.core.speech_unread`), a text the full queue refuses
        (:func:`~atlas.core.text_unread`). Asked as messages are read, each routed to
        the inbox before the next is read: nothing of the sid waits unseen before it,
        and a text is judged only behind texts put there :meth:`plain`.
        ``training``: the first training is awaited, with events held: no text dropped."""
        found = topic_kind(topic, _UNREAD)
        if found is None:
            return False
        kind, params = found
        sid = params["sid"]
        channel = self.channels.get(sid)
        if kind is DialogParse:
            if channel is None or not channel.told_full or training or self.resuming \
                    or not self.inbox.all_plain(sid):
                return False
            try:
                text = payload.decode().strip()
            except UnicodeDecodeError:
                return False                 # decoding it says what is wrong
            if not text_unread(channel, text, world):
                return False
            self._dismiss(Dismissed(sid, "parse", "queue full"))
            return True
        why = speech_unread(channel)
        if why is None:
            return False
        self._dismiss(Dismissed(sid, kind.__name__, why))
        return True

    def plain(self, message: Message, world: World) -> bool:
        """Whether ``message`` waits in the inbox as a text that changes nothing behind
        a full queue (:func:`~atlas.core.refused_alike`): :meth:`unread` may still
        judge the texts behind it."""
        if not isinstance(message, DialogParse):
            return False
        channel = self.channels.get(message.sid)
        return channel is not None and refused_alike(channel, message.text, world)

    def _profile(self, uid: str) -> tuple[str, dict[str, Any]]:
        """The user's language and env values over the configured defaults."""
        user = self._user(uid)
        settings = {**self.config.env, **(user.env if user else {})}
        return (user.lang if user else self.config.default_lang), settings

    def apply(self, event: Event, world: World) -> list[Publish]:
        changes, effects = handle(self.channels, event, world)
        touched: set[str] = set()
        for sid, channel in changes.items():
            if channel is None:
                if self.channels.pop(sid, None) is not None:
                    touched.add(sid)
            elif channel is not self.channels.get(sid):   # the core changed it
                self.channels[sid] = channel
                touched.add(sid)
        publishes: list[Publish] = []
        now = time.time()
        for effect in effects:
            if isinstance(effect, Publish):
                publishes.append(effect)
            elif isinstance(effect, Deadline):
                self._arm(effect, now)
                touched.add(effect.sid)
            elif isinstance(effect, Throttled):
                log.warning("skill %s throttled on sid %s: %s", effect.skill, effect.sid,
                            effect.reason)
                self.throttled[effect.skill] = effect.reason
            else:
                self._dismiss(effect)
        self.dirty |= touched
        return publishes

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def stored(self, sid: str) -> Stored | None:
        """The sid as it is to be stored; ``None`` for a sid that has no channel."""
        channel = self.channels.get(sid)
        if channel is None:
            return None
        armed = self._deadlines.get(sid)
        return Stored(to_record(channel), None if armed is None else armed[2])

    def save(self, sids: set[str]) -> None:
        """Write ``sids`` (those the last events changed) to ``state``, as one batch:
        called before anything is published about them."""
        if self.state is None or not sids:
            return
        batch = {sid: self.stored(sid) for sid in sids}
        try:
            self.state.save(batch)
        except Exception:  # the conversation goes on; only a restart would lose it
            log.exception("could not save %d channel(s)", len(batch))

    def load(self, sid: str, stored: Stored | None) -> None:
        """Take ``sid`` as stored (by another daemon, say) in place of what is in memory."""
        self.forget(sid)
        if stored is None or stored.record is None:
            return
        try:
            self.channels[sid] = from_record(stored.record)
        except RecordError as error:
            log.error("channel %s not loaded: %s", sid, error)
            return
        if stored.deadline is not None:
            armed = stored.deadline
            now = time.time()
            self._arm(Deadline(sid, armed.generation, max(0.0, armed.at - now)), now)

    def postpone(self, sid: str, seconds: float) -> None:
        """Move ``sid``'s armed deadline (if any) ``seconds`` later, same generation."""
        armed = self._deadlines.get(sid)
        if armed is not None and seconds > 0:
            now = time.time()
            self._arm(Deadline(sid, armed[2].generation, max(0.0, armed[2].at + seconds - now)),
                      now)
            self.dirty.add(sid)

    def forget(self, sid: str) -> None:
        """Drop what is in memory of ``sid`` (another daemon has it now)."""
        self.channels.pop(sid, None)
        previous = self._deadlines.pop(sid, None)
        if previous is not None and previous[0] is not None:
            previous[0].cancel()

    def _user(self, uid: str) -> User | None:
        try:
            # A bot's guest ("NAME/session") has the bot's language and env.
            return self.store.user(uid) or self.store.guest(uid)
        except Exception:  # a store failure must not stop the conversation
            log.exception("store lookup failed; using defaults")
            return None

    def _arm(self, deadline: Deadline, now: float) -> None:
        previous = self._deadlines.pop(deadline.sid, None)
        if previous is not None and previous[0] is not None:
            previous[0].cancel()
        if deadline.seconds is not None:
            fired = _Fired(DeadlinePassed(deadline.sid, deadline.generation))
            timer = asyncio.get_running_loop().call_later(
                deadline.seconds, self.inbox.put, deadline.sid, fired) if self.timers else None
            armed = Armed(deadline.generation, now + deadline.seconds)
            self._deadlines[deadline.sid] = (timer, fired, armed)

    def _dismiss(self, dismissed: Dismissed) -> None:
        kind = dismissed.reason.split(" ")[0]
        self.dismissed[kind] += 1
        # A flood is thousands of these: log the first of a kind per second, then a count.
        now = time.monotonic()
        if now - self._last_dismiss_log.get(kind, -DISMISS_LOG_EVERY) < DISMISS_LOG_EVERY:
            self._unlogged[kind] += 1
            return
        self._last_dismiss_log[kind] = now
        more = self._unlogged.pop(kind, 0)
        log.info("dismissed %s on sid %s: %s%s", dismissed.what, dismissed.sid,
                 dismissed.reason, f" (and {more} more like it)" if more else "")

    def close(self) -> None:
        for timer, _, _ in self._deadlines.values():
            if timer is not None:
                timer.cancel()
        self._deadlines.clear()
