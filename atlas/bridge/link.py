"""The bridge's one MQTT connection, and the hub that routes channel messages to sockets.

The bridge is a channel like any other: it creates sids on ``channel/create``, sends
``dialog/parse`` and listens to ``channel/*``. One connection subscribes to the channel
wildcards for every sid; the :class:`Hub` keeps each sid's session record (plain data,
see :mod:`atlas.bridge.messages`) and hands what to send to the sockets of that sid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from atlas import transport
from atlas.protocol import (
    CHANNEL_INBOX,
    ChannelCreate,
    ChannelCreated,
    ChannelDestroy,
    DialogData,
    DialogParse,
    DialogSession,
    Message,
    Ping,
    Skills,
)
from atlas.transport import BrokerAddress, Cleared, Reconnected, TransportError

from .messages import TOO_SLOW, Close, Outgoing, Session, forgotten, on_channel, resume

log = logging.getLogger(__name__)

_INBOX: tuple[type[Message], ...] = (*CHANNEL_INBOX, Skills, Ping)


class LinkUnavailable(Exception):
    """The broker or the daemon cannot be reached right now."""


#: Messages waiting for one socket at most; a client that stops reading is dropped.
BACKLOG = 256


@dataclass(eq=False)
class Listener:
    """One socket's mailbox on a sid.

    ``family`` is the refresh token its access token came from; ``ended`` says why the
    bridge wants the socket closed (it does not read, its token was revoked). A
    ``None`` in the queue wakes the writer to look at it.
    """

    sid: str
    uid: str
    family: str = ""
    queue: asyncio.Queue[Outgoing | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=BACKLOG))
    ended: Close | None = None

    def put(self, message: Outgoing) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.ended = self.ended or TOO_SLOW

    def end(self, why: Close) -> None:
        self.ended = self.ended or why
        with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes the writer anyway
            self.queue.put_nowait(None)


class Hub:
    """Sids the bridge owns, their session records and the sockets listening to them.

    Synchronous and loop-bound: every method runs between two awaits, so attaching a
    socket and taking its resume snapshot happen atomically.
    """

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def register(self, sid: str, uid: str) -> None:
        owner = self._owner.setdefault(sid, uid)
        if owner != uid:  # sids derive from the uid: this would be a bug, not an attack
            raise ValueError(f"sid {sid} already belongs to another user")
        self._sessions.setdefault(sid, Session())

    def attach(self, sid: str, family: str = "") -> tuple[Listener, list[Outgoing]]:
        """Start listening to a registered sid; returns what to send after ``ready``."""
        listener = Listener(sid, self._owner[sid], family)
        self._listeners[sid].add(listener)
        return listener, resume(self._sessions[sid])

    def detach(self, listener: Listener) -> None:
        self._listeners[listener.sid].discard(listener)
        if not self._listeners[listener.sid]:
            del self._listeners[listener.sid]

    def session(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def drop(self, sid: str) -> None:
        """Forget a sid for good (a deleted guest session): its sockets are ended."""
        for listener in self._listeners.pop(sid, set()):
            listener.end(Close(1000, "session deleted"))
        self._owner.pop(sid, None)
        self._sessions.pop(sid, None)

    def sids_of(self, uid: str) -> list[str]:
        return sorted(sid for sid, owner in self._owner.items() if owner == uid)

    def listened(self) -> list[tuple[str, str]]:
        """(sid, uid) of every sid with at least one socket."""
        return [(sid, self._owner[sid]) for sid in sorted(self._listeners)]

    def broadcast(self, sid: str, *messages: Outgoing) -> None:
        for listener in self._listeners.get(sid, ()):
            for message in messages:
                listener.put(message)

    def end_family(self, family: str, why: Close) -> int:
        """Close the sockets signed in with tokens of one refresh token (revoked)."""
        ended = [listener for listeners in self._listeners.values() for listener in listeners
                 if listener.family == family]
        for listener in ended:
            listener.end(why)
        return len(ended)

    def forget(self) -> None:
        """The daemon restarted: every conversation it held is gone."""
        for sid, session in self._sessions.items():
            self._sessions[sid], outgoing = forgotten(session)
            self.broadcast(sid, *outgoing)

    def deliver(self, message: Message) -> None:
        """Apply a channel message to its sid's record and pass it on to the sockets."""
        sid = getattr(message, "sid", None)
        if sid is None or sid not in self._sessions:
            return  # another channel's sid (a terminal, a device): not ours
        session = self._sessions[sid]
        if isinstance(message, ChannelCreated):
            self._sessions[sid] = replace(session, lang=message.lang)
            return
        self._sessions[sid], outgoing = on_channel(session, message)
        self.broadcast(sid, *outgoing)


class Link:
    """The MQTT side of the bridge: connects (and reconnects), routes, publishes."""

    def __init__(self, address: BrokerAddress, hub: Hub | None = None, *,
                 create_timeout: float = 10.0) -> None:
        self.address = address
        self.hub = hub or Hub()
        self.create_timeout = create_timeout
        self.skills: Skills | None = None
        self._session: transport.Session | None = None
        self._connected = asyncio.Event()
        self._created: dict[str, list[asyncio.Future[str]]] = defaultdict(list)
        self._daemon_started: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Session data of the sids that have some, sent again when a channel is re-created.
        self._session_data: dict[str, dict[str, Any]] = {}

    async def run(self) -> None:
        """Stay connected until cancelled (the session reconnects by itself)."""
        async with transport.Session(self.address, "atlas-bridge", attempts=None) as session:
            await session.subscribe(*_INBOX)
            self._session = session
            self._connected.set()
            log.info("bridge connected to %s", self.address)
            try:
                async for message in session:
                    self._receive(message)
            finally:
                self._session = None
                self._connected.clear()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _receive(self, message: object) -> None:
        if isinstance(message, Reconnected):
            # After a broker outage the daemon may have lost our sids: re-attach.
            self._spawn(self._recreate_listened())
        elif isinstance(message, Cleared):
            self.skills = None  # the daemon cleared its retained list on the way out
        elif isinstance(message, Skills):
            self.skills = message
            self._daemon_seen(message.started_at)
        elif isinstance(message, Ping):
            self._daemon_seen(message.started_at)
        elif isinstance(message, ChannelCreated):
            for waiter in self._created.pop(message.sid, []):
                if not waiter.done():
                    waiter.set_result(message.lang)
            self.hub.deliver(message)
        elif isinstance(message, Message):
            self.hub.deliver(message)

    def _daemon_seen(self, started_at: str) -> None:
        # A new daemon start forgets every channel: re-create those with sockets. Both
        # the pings and the retained skill list carry the start time, so a restart is
        # noticed even by a bridge that has not heard a ping of the previous daemon yet.
        if not started_at:  # a ping without it tells nothing
            return
        previous, self._daemon_started = self._daemon_started, started_at
        if previous is not None and previous != started_at:
            log.info("the daemon restarted; re-creating %d channel(s)", len(self.hub.listened()))
            self.hub.forget()
            self._spawn(self._recreate_listened())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        # Kept referenced until done, so the loop cannot drop it half way.
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recreate_listened(self) -> None:
        for sid, uid in self.hub.listened():
            try:
                lang = await self.open(sid, uid)
            except LinkUnavailable as error:
                log.warning("could not re-create channel %s: %s", sid, error)
                continue
            self.hub.broadcast(sid, {"type": "ready", "language": lang})

    async def _publish(self, message: Message) -> None:
        session = self._session
        if session is None or not session.connected:
            raise LinkUnavailable("not connected to the broker")
        try:
            session.publish(message)
        except TransportError as error:
            raise LinkUnavailable(f"publish failed: {error}") from None

    async def open(self, sid: str, uid: str, *, session: dict[str, Any] | None = None,
                   welcome: bool = False) -> str:
        """Create (or re-attach to) the daemon's agent for a sid; returns its language.

        ``session`` is the channel's session data; ``welcome`` asks for a welcome
        message if the daemon does not know the sid yet.
        """
        self.hub.register(sid, uid)
        if session is not None:
            self._session_data[sid] = dict(session)
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._created[sid].append(waiter)
        try:
            await self._publish(ChannelCreate(sid, uid, self._session_data.get(sid), welcome))
            return await asyncio.wait_for(waiter, self.create_timeout)
        except TimeoutError:
            raise LinkUnavailable("the assistant did not answer; is the daemon running?") \
                from None
        finally:
            if waiter in self._created.get(sid, []):
                self._created[sid].remove(waiter)

    async def say(self, sid: str, text: str) -> None:
        """Send what the user typed to the daemon, to be parsed by the sid's agent."""
        await self._publish(DialogParse(sid, text))

    async def give(self, sid: str, data: dict[str, Any]) -> None:
        """Send structured input (a clicked button's value, an image) to the sid's agent."""
        await self._publish(DialogData(sid, data))

    async def put_session(self, sid: str, data: dict[str, Any]) -> None:
        """Merge ``data`` into the sid's session data."""
        self._session_data[sid] = {**self._session_data.get(sid, {}), **data}
        await self._publish(DialogSession(sid, data))

    async def close(self, sid: str) -> None:
        """Destroy the sid's agent and forget the sid (a deleted guest session)."""
        self._session_data.pop(sid, None)
        self.hub.drop(sid)
        await self._publish(ChannelDestroy(sid))
