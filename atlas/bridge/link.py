"""The bridge's one MQTT connection, and the hub that routes channel messages to sockets.

The bridge is a channel like any other: it creates sids on ``channel/create``, sends
``dialog/parse`` and listens to ``channel/*``. One connection subscribes to the channel
wildcards for every sid; the :class:`Hub` keeps each sid's session record (plain data,
see :mod:`atlas.bridge.messages`) where every bridge replica reads it (see
:mod:`atlas.store.sid_records`) and hands what to send to the sockets of that sid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
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
from atlas.store.sid_records import MemorySidRecords, RecordsUnavailable, SidRecords
from atlas.transport import BrokerAddress, Cleared, Reconnected, TransportError

from .messages import TOO_SLOW, Close, Outgoing, Session, from_view, on_channel, resume, to_view

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


@dataclass(eq=False)
class _Loading:
    """A sid whose record is being read: what its channel said meanwhile waits here."""

    task: asyncio.Task[None]
    heard: list[Message] = field(default_factory=list)


#: Seconds the hub stops writing records after the store failed (Redis away or hung),
#: so that a store that is down does not delay every message; it then writes the
#: latest record of every sid it could not write.
RETRY_AFTER = 5.0


class Hub:
    """Sids the bridge serves, their session records and the sockets listening to them.

    The records live in a :class:`~atlas.store.sid_records.SidRecords` (this process's
    memory, or Redis shared by every bridge replica); the hub keeps a copy of those of
    the sids it serves. A sid is enrolled (its record read) before a socket attaches;
    from then on every channel message for it updates the record, which is written
    before the message reaches a socket: a page that saw a question and reconnects
    through any bridge is sent it again.

    Every bridge enrolled on a sid hears the same channel messages in the same order
    and computes the same records: their writes are the same bytes. ``attach`` and
    the delivery of a batch of messages each happen between two awaits, so the resume
    snapshot a socket gets and the messages queued for it never overlap.
    """

    def __init__(self, records: SidRecords | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.records: SidRecords = records if records is not None else MemorySidRecords()
        self.clock = clock
        self._owner: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._loading: dict[str, _Loading] = {}
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._pending: list[Message] = []
        self._wake = asyncio.Event()
        self._unsaved: set[str] = set()     # sids whose last write failed
        self._paused_until = 0.0

    # -- sids and sockets ------------------------------------------------------------

    async def enroll(self, sid: str, uid: str) -> None:
        """Serve a sid: its record is read, once, before the call returns."""
        owner = self._owner.setdefault(sid, uid)
        if owner != uid:  # sids derive from the uid: this would be a bug, not an attack
            raise ValueError(f"sid {sid} already belongs to another user")
        if sid in self._sessions:
            return
        loading = self._loading.get(sid)
        if loading is None:
            # The hub's task, not the caller's: a socket that goes away while the
            # record is read does not lose what was heard meanwhile.
            loading = _Loading(asyncio.get_running_loop().create_task(self._load(sid)))
            self._loading[sid] = loading
        await asyncio.shield(loading.task)

    async def _load(self, sid: str) -> None:
        session = Session()
        try:
            view = (await self.records.load(sid)).view
            session = from_view(view) if view is not None else session
        except RecordsUnavailable as error:
            log.warning("%s starts without its record: %s", sid, error)
        except ValueError as error:
            log.warning("the record of %s is unreadable (%s); it starts afresh", sid, error)
        finally:
            loading = self._loading.pop(sid)
        if sid in self._owner:  # not dropped meanwhile
            self._sessions[sid] = session
            self._queue(*loading.heard)

    def attach(self, sid: str, family: str = "") -> tuple[Listener, list[Outgoing]]:
        """Start listening to an enrolled sid; returns what to send after ``ready``."""
        listener = Listener(sid, self._owner[sid], family)
        self._listeners[sid].add(listener)
        return listener, resume(self._sessions[sid])

    async def join(self, sid: str, uid: str, family: str = ""
                   ) -> tuple[Listener, list[Outgoing]]:
        """Enroll and attach: a socket's mailbox on the sid, and what to send after ``ready``."""
        await self.enroll(sid, uid)
        return self.attach(sid, family)

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
        self._unsaved.discard(sid)

    def sids_of(self, uid: str) -> list[str]:
        return sorted(sid for sid, owner in self._owner.items() if owner == uid)

    def listeners(self) -> list[Listener]:
        """Every socket's mailbox."""
        return [each for listeners in self._listeners.values() for each in listeners]

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

    # -- channel messages ------------------------------------------------------------

    def deliver(self, message: Message) -> None:
        """Take a channel message for its sid's record and sockets (see :meth:`flush`)."""
        sid = getattr(message, "sid", None)
        if sid is None:
            return
        loading = self._loading.get(sid)
        if loading is not None:
            loading.heard.append(message)   # applied once the record is read
        elif sid in self._sessions:
            self._queue(message)
        # else another channel's sid (a terminal, a device): not ours

    def _queue(self, *messages: Message) -> None:
        if messages:
            self._pending += messages
            self._wake.set()

    async def flush(self) -> None:
        """Apply the messages delivered so far: write the records they changed, then
        pass the messages on to the sockets."""
        batch, self._pending = self._pending, []
        base: dict[str, Session] = {}
        after: dict[str, Session] = {}
        sends: list[tuple[str, list[Outgoing]]] = []
        for message in batch:
            sid = getattr(message, "sid", "")
            if sid not in after:
                if sid not in self._sessions:
                    continue  # dropped since
                base[sid] = after[sid] = self._sessions[sid]
            after[sid], outgoing = on_channel(after[sid], message)
            if outgoing:
                sends.append((sid, outgoing))
        changed = {sid: session for sid, session in after.items() if session != base[sid]}
        await self._save(changed)
        for sid, session in changed.items():
            if self._sessions.get(sid) is base[sid]:  # not dropped (nor re-read) meanwhile
                self._sessions[sid] = session
        for sid, outgoing in sends:
            self.broadcast(sid, *outgoing)

    async def _save(self, changed: dict[str, Session]) -> None:
        self._unsaved.update(changed)
        if not self._unsaved or self.clock() < self._paused_until:
            return
        views = {sid: to_view(changed.get(sid) or self._sessions[sid])
                 for sid in self._unsaved if sid in changed or sid in self._sessions}
        try:
            await self.records.save_views(views)
        except RecordsUnavailable as error:
            self._paused_until = self.clock() + RETRY_AFTER
            log.warning("records not written for %.0f s (%d sid(s) waiting): %s",
                        RETRY_AFTER, len(self._unsaved), error)
        else:
            self._unsaved.difference_update(views)

    async def run(self) -> None:
        """Flush whatever is delivered, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """:meth:`run` for the duration of the block; records still being read are
        abandoned when it ends."""
        task = asyncio.get_running_loop().create_task(self.run(), name="bridge-hub")
        try:
            yield
        finally:
            tasks = [task, *(loading.task for loading in self._loading.values())]
            for each in tasks:
                each.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


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

    async def run(self) -> None:
        """Stay connected until cancelled (the session reconnects by itself)."""
        async with transport.Session(self.address, "atlas-bridge", attempts=None) as session, \
                self.hub.running():
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
        # A restarted daemon restores its channels from its store (a question still
        # pending, a working conversation ended with reason "restarted"): the sockets
        # keep their sessions, and the channels are created again in case the daemon
        # lost its store. Both the pings and the retained skill list carry the start
        # time, so a restart is noticed even by a bridge that has not heard a ping of
        # the previous daemon yet.
        if not started_at:  # a ping without it tells nothing
            return
        previous, self._daemon_started = self._daemon_started, started_at
        if previous is not None and previous != started_at:
            log.info("the daemon restarted; re-creating %d channel(s)", len(self.hub.listened()))
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
        await self.hub.enroll(sid, uid)
        data = await self._session_data(sid, session)
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._created[sid].append(waiter)
        try:
            await self._publish(ChannelCreate(sid, uid, data, welcome))
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
        try:
            await self.hub.records.put_data(sid, data, merge=True)
        except RecordsUnavailable as error:
            log.warning("session data kept for %s only by the daemon: %s", sid, error)
        await self._publish(DialogSession(sid, data))

    async def close(self, sid: str) -> None:
        """Destroy the sid's agent and forget the sid (a deleted guest session)."""
        self.hub.drop(sid)
        try:
            await self.hub.records.forget(sid)
        except RecordsUnavailable as error:
            log.warning("the record of %s is left to expire: %s", sid, error)
        await self._publish(ChannelDestroy(sid))

    async def _session_data(self, sid: str, given: dict[str, Any] | None
                            ) -> dict[str, Any] | None:
        """The session data to create the channel with: ``given`` (then kept for the
        next time), else what was kept (a channel re-created after a daemon restart)."""
        try:
            if given is not None:
                await self.hub.records.put_data(sid, dict(given))
                return dict(given)
            return (await self.hub.records.load(sid)).data
        except RecordsUnavailable as error:
            log.warning("channel %s is created with the data it was given: %s", sid, error)
            return dict(given) if given is not None else None
