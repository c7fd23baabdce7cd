"""The daemon's waiting line: one line per sid, served in turn.

Per sid, events reach the core in arrival order; between sids, each turn takes one
event from the next sid that has any, so a sid flooding the daemon waits behind its
own messages, not in front of everybody else's.

The daemon marks some events ``plain`` (a text that does not cancel): behind a
full queue, any number of those change nothing, so the reader may judge the next
text before they are handled (:func:`atlas.core.text_unread`).
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
        self._lines: dict[str, deque[tuple[T, bool]]] = {}
        self._turns: deque[str] = deque()
        self._unplain: dict[str, int] = {}   # per key, how many waiting are not plain
        self._waiting = asyncio.Event()

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def put(self, key: str, item: T, *, plain: bool = False) -> None:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
            self._turns.append(key)
        line.append((item, plain))
        if not plain:
            self._unplain[key] = self._unplain.get(key, 0) + 1
        self._waiting.set()

    def all_plain(self, key: str) -> bool:
        """Whether every event of ``key`` that waits (if any) was put ``plain``."""
        return key not in self._unplain

    def get_nowait(self) -> T | None:
        if not self._turns:
            return None
        key = self._turns.popleft()
        line = self._lines[key]
        item, plain = line.popleft()
        if line:
            self._turns.append(key)
        else:
            del self._lines[key]
        if not plain:
            if self._unplain[key] == 1:
                del self._unplain[key]
            else:
                self._unplain[key] -= 1
        return item

    async def get(self) -> T:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            self._waiting.clear()
            await self._waiting.wait()
