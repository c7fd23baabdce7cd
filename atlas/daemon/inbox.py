"""The daemon's waiting line: one line per sid, served in turn.

Per sid, events reach the core in arrival order; between sids, each turn takes one
event from the next sid that has any, so a sid flooding the daemon waits behind its
own messages, not in front of everybody else's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

#: The line of events that belong to no sid (a skill leaving).
GLOBAL = ""


class FairInbox(Generic[T]):
    def __init__(self) -> None:
        self._lines: dict[str, deque[T]] = {}
        self._turns: deque[str] = deque()
        self._waiting = asyncio.Event()

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def put(self, key: str, item: T) -> None:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
            self._turns.append(key)
        line.append(item)
        self._waiting.set()

    def waiting(self, key: str) -> int:
        """How many events of ``key`` wait."""
        line = self._lines.get(key)
        return len(line) if line else 0

    def get_nowait(self) -> T | None:
        if not self._turns:
            return None
        key = self._turns.popleft()
        line = self._lines[key]
        item = line.popleft()
        if line:
            self._turns.append(key)
        else:
            del self._lines[key]
        return item

    async def get(self) -> T:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            self._waiting.clear()
            await self._waiting.wait()
