"""amqtt's queue of messages to route, served one publisher at a time.

amqtt routes every PUBLISH it reads through one first-in, first-out queue, at some
3,000 to 4,000 messages a second on the development machine. A skill that sends
5,000 messages at once therefore put seconds of its own traffic in front of every
other client's: a user's request waited behind all of it, and so did the answer of
the skill serving that user.

:class:`FairBroadcasts` keeps one line per publishing session and takes from each
in turn. Each publisher's messages stay in the order it sent them (all that MQTT
asks of a broker, 4.6), and a message waits behind at most one message of each
other busy publisher, however much they queued.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from typing import Any

#: Messages amqtt itself routes (``$SYS`` topics, wills) have no session.
_BROKER = object()


class FairBroadcasts:
    """The part of :class:`asyncio.Queue` amqtt's broker uses, round robin by sender.

    An item is amqtt's broadcast: a dict whose ``"session"`` is the publisher's.
    There is one consumer, amqtt's broadcast loop.
    """

    def __init__(self) -> None:
        # Publishers with messages waiting; the first is served next.
        self._lines: OrderedDict[object, deque[dict[str, Any]]] = OrderedDict()
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return self._size

    def empty(self) -> bool:
        return self._size == 0

    def put_nowait(self, item: dict[str, Any]) -> None:
        session = item.get("session")
        key = _BROKER if session is None else getattr(session, "client_id", session)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
        line.append(item)
        self._size += 1
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def put(self, item: dict[str, Any]) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> dict[str, Any]:
        if not self._lines:
            raise asyncio.QueueEmpty
        key, line = next(iter(self._lines.items()))
        item = line.popleft()
        self._size -= 1
        if line:
            self._lines.move_to_end(key)      # the others go first
        else:
            del self._lines[key]
        return item

    async def get(self) -> dict[str, Any]:
        while not self._lines:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.get_nowait()
