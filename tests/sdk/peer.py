"""A raw MQTT client playing the daemon's side, for SDK tests without the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from atlas.protocol import Message
from atlas.transport import RawMessage, Session, raw

M = TypeVar("M", bound=Message)

#: A guard against hanging, not a performance expectation.
PATIENCE = 15.0


class Peer:
    def __init__(self, url: str, *kinds: type[Message], raw: tuple[str, ...] = ()) -> None:
        self.client = Session(url, "peer")
        self.kinds = kinds
        self.raw = raw
        self.inbox: asyncio.Queue[Message | tuple[str, bytes]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.client.__aenter__()
        await self.client.subscribe(*self.kinds, *(raw(topic) for topic in self.raw))
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self.client:
            if isinstance(message, RawMessage):
                self.inbox.put_nowait((message.topic, message.payload))
            elif isinstance(message, Message):
                self.inbox.put_nowait(message)

    async def send(self, message: Message) -> None:
        self.client.publish(message)

    async def expect(self, kind: type[M], where: Callable[[M], bool] = lambda m: True) -> M:
        """The next message of ``kind`` matching ``where`` (others are skipped)."""
        async with asyncio.timeout(PATIENCE):
            while True:
                item = await self.inbox.get()
                if isinstance(item, kind) and where(item):
                    return item

    async def expect_raw(self, topic: str) -> Any:
        async with asyncio.timeout(PATIENCE):
            while True:
                item = await self.inbox.get()
                if isinstance(item, tuple) and item[0] == topic:
                    return item[1]
