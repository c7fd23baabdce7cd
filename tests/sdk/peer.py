"""A raw MQTT client playing the daemon's side, for SDK tests without the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from atlas import mqtt
from atlas.protocol import Message, parse_message

M = TypeVar("M", bound=Message)

#: A guard against hanging, not a performance expectation.
PATIENCE = 15.0


class Peer:
    def __init__(self, url: str, *kinds: type[Message], raw: tuple[str, ...] = ()) -> None:
        self.client = mqtt.client(mqtt.BrokerAddress.parse(url), "peer")
        self.kinds = kinds
        self.raw = raw
        self.inbox: asyncio.Queue[Message | tuple[str, bytes]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.client.__aenter__()
        topics = [kind.subscription() for kind in self.kinds] + list(self.raw)
        await self.client.subscribe([(t, 1) for t in topics])
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self.client.messages:
            topic, payload = str(message.topic), message.payload
            assert isinstance(payload, bytes)
            if topic in self.raw:
                self.inbox.put_nowait((topic, payload))
                continue
            parsed = parse_message(topic, payload, self.kinds)
            if parsed is not None:
                self.inbox.put_nowait(parsed)

    async def send(self, message: Message) -> None:
        await mqtt.publish(self.client, message)

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
