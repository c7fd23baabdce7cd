"""The client side of a channel: what a terminal, a test or a device does to talk to atlas.

    async with Channel("mqtt://127.0.0.1:1883", uid="alice") as channel:
        print(channel.lang)
        for message in await channel.converse("set a timer"):
            ...   # ChannelWork, ChannelShow, ..., then ChannelAsk or ChannelTerminate

A channel opens its own connection when given an address, or shares a transport
:class:`~atlas.transport.Session` with other channels (one connection, many sids):
the first channel on a session starts reading that session's messages and routes
them by sid, so do not iterate the session elsewhere while channels are open on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from types import TracebackType
from typing import Self

from .protocol import (
    CHANNEL_INBOX,
    ChannelAsk,
    ChannelCreate,
    ChannelCreated,
    ChannelDestroy,
    ChannelTerminate,
    DialogParse,
    Message,
)
from .transport import BrokerAddress, Session, TransportError, on

log = logging.getLogger(__name__)

#: How long to wait for the daemon's ``channel/created``.
CREATE_TIMEOUT = 10.0


class ChannelError(Exception):
    """The daemon did not answer, or the connection ended."""


class _Router:
    """Reads one session's messages and hands each channel message to its sid's queue."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queues: dict[str, asyncio.Queue[Message | BaseException]] = {}
        self.task: asyncio.Task[None] | None = None

    def attach(self, sid: str) -> asyncio.Queue[Message | BaseException]:
        if sid in self.queues:
            raise ChannelError(f"a channel {sid!r} is already open on this connection")
        queue: asyncio.Queue[Message | BaseException] = asyncio.Queue()
        self.queues[sid] = queue
        if self.task is None:
            self.task = asyncio.create_task(self._read(), name="channel-router")
        return queue

    async def detach(self, sid: str) -> None:
        self.queues.pop(sid, None)
        if not self.queues and self.task is not None:
            task, self.task = self.task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self) -> None:
        async for message in self.session:
            sid = getattr(message, "sid", None)
            if isinstance(message, Message) and sid in self.queues:
                self.queues[sid].put_nowait(message)
        # The session was closed under the channels: wake them instead of leaving them hanging.
        for queue in self.queues.values():
            queue.put_nowait(ChannelError("the connection was closed"))


_routers: weakref.WeakKeyDictionary[Session, _Router] = weakref.WeakKeyDictionary()


class Channel:
    """One sid's conversation with the daemon, as an async context manager.

    ``connection`` is a broker URL, a :class:`~atlas.transport.BrokerAddress`, or an
    open :class:`~atlas.transport.Session` to share. ``sid`` defaults to a fresh one.
    """

    def __init__(self, connection: Session | BrokerAddress | str,
                 sid: str | None = None, uid: str = "user", *,
                 create_timeout: float = CREATE_TIMEOUT) -> None:
        self.sid = sid or f"channel-{uuid.uuid4().hex[:12]}"
        self.uid = uid
        self.lang = ""
        self.create_timeout = create_timeout
        self._connection = connection
        self._client: Session | None = None
        self._own_client = not isinstance(connection, Session)
        self._router: _Router | None = None
        self._queue: asyncio.Queue[Message | BaseException] | None = None
        # Checked now (ProtocolError, a ValueError) so a bad sid or uid fails before
        # any connection is made.
        self._create = ChannelCreate.from_dict({"sid": self.sid}, {"uid": uid})
        self._create.topic()

    async def __aenter__(self) -> Self:
        if isinstance(self._connection, Session):
            client = self._connection
        else:
            client = Session(self._connection, "channel")
            try:
                await client.__aenter__()
            except TransportError as error:
                raise ChannelError(str(error)) from None
        self._client = client
        try:
            await self._open(client)
        except BaseException:
            await self._close()
            raise
        return self

    async def _open(self, client: Session) -> None:
        self._router = _routers.get(client)
        if self._router is None:
            self._router = _routers[client] = _Router(client)
        self._queue = self._router.attach(self.sid)
        await client.subscribe(*(on(kind, sid=self.sid) for kind in CHANNEL_INBOX))
        client.publish(self._create)
        try:
            async with asyncio.timeout(self.create_timeout):
                while not isinstance(created := await self._take(), ChannelCreated):
                    pass
        except TimeoutError:
            raise ChannelError(f"no channel/created for {self.sid} within "
                               f"{self.create_timeout} s: is the daemon running?") from None
        self.lang = created.lang

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._client is not None and self._queue is not None:
            with contextlib.suppress(TransportError):
                self._client.publish(ChannelDestroy(self.sid))
        await self._close()

    async def _close(self) -> None:
        # Undo only what this channel did: a refused duplicate sid must not take the
        # queue or the subscriptions of the channel that holds that sid.
        client, self._client = self._client, None
        attached, self._queue = self._queue is not None, None
        if self._router is not None and attached:
            await self._router.detach(self.sid)
        self._router = None
        if client is None:
            return
        if self._own_client:
            await client.drain(1.0)  # the destroy, at least
            await client.close()
        elif attached:
            with contextlib.suppress(TransportError):
                await client.unsubscribe(*(on(kind, sid=self.sid) for kind in CHANNEL_INBOX))

    async def say(self, text: str) -> None:
        """Send what the user typed to be understood (``dialog/parse``)."""
        if self._client is None:
            raise ChannelError("the channel is not open")
        try:
            self._client.publish(DialogParse(self.sid, text))
        except TransportError as error:
            raise ChannelError(str(error)) from None

    async def _take(self) -> Message:
        if self._queue is None:
            raise ChannelError("the channel is not open")
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def next(self, timeout: float | None = None) -> Message:
        """The next message for this channel; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            return await self._take()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        return await self._take()

    async def converse(self, text: str, timeout: float | None = 30.0) -> list[Message]:
        """Say ``text``; the messages up to and including the next terminate or ask."""
        await self.say(text)
        return await self.until_turn_ends(timeout)

    async def until_turn_ends(self, timeout: float | None = 30.0) -> list[Message]:
        """Messages until (and including) a ``ChannelTerminate`` or a ``ChannelAsk``."""
        received: list[Message] = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self._take()
                received.append(message)
                if isinstance(message, ChannelTerminate | ChannelAsk):
                    return received
