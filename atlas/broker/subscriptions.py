"""amqtt's table of subscriptions, indexed by topic level.

amqtt keeps its subscriptions in a dict from topic filter to subscribers, and
routes each message by comparing its topic with every filter in it. Under
``atlas up`` every channel subscribes to topics of its own, so with forty users
taking turns that scan was 60 % of the broker's CPU. :class:`SubscriptionTable`
is that dict, with a tree of its filters' levels beside it kept in step: the
filters a topic matches are found by walking the topic's levels (MQTT 4.7),
however many there are.

Iterating the table goes over a copy: amqtt 0.12.1 awaits inside loops over it
(the ACL check of each subscriber, retained messages for a new client), and a
SUBSCRIBE or a disconnection handled meanwhile changed its size, which killed the
loop that routes every message, or the connecting client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class _Level:
    __slots__ = ("children", "filter")

    def __init__(self) -> None:
        self.children: dict[str, _Level] = {}
        self.filter: str | None = None   # the filter that ends at this level, if any


class SubscriptionTable(dict[str, Any]):
    """amqtt's ``{filter: [(session, qos), ...]}``, with :meth:`matching`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._root = _Level()
        for a_filter in dict.keys(self):
            self._add(a_filter)

    def matching(self, topic: str) -> list[str]:
        """The filters in the table that ``topic`` matches."""
        levels = topic.split("/")
        found: list[str] = []
        # Filters starting with a wildcard do not match topics starting with "$"
        # (MQTT 4.7.2). A stack, not recursion: a topic may have thousands of levels.
        pending = [(self._root, 0, not topic.startswith("$"))]
        while pending:
            at, depth, wild = pending.pop()
            children = at.children
            if wild and (rest := children.get("#")) is not None and rest.filter is not None:
                found.append(rest.filter)   # "a/#" matches "a" and everything under it
            if depth == len(levels):
                if at.filter is not None:
                    found.append(at.filter)
                continue
            if (exact := children.get(levels[depth])) is not None:
                pending.append((exact, depth + 1, True))
            if wild and (one := children.get("+")) is not None:
                pending.append((one, depth + 1, True))
        return found

    def _add(self, a_filter: str) -> None:
        at = self._root
        for level in a_filter.split("/"):
            at = at.children.setdefault(level, _Level())
        at.filter = a_filter

    def _remove(self, a_filter: str) -> None:
        path = [self._root]
        for level in a_filter.split("/"):
            child = path[-1].children.get(level)
            if child is None:
                return
            path.append(child)
        path[-1].filter = None
        # Prune the levels nothing ends at or goes through any more.
        for parent, level in zip(reversed(path[:-1]), reversed(a_filter.split("/")),
                                 strict=True):
            child = parent.children[level]
            if child.filter is not None or child.children:
                break
            del parent.children[level]

    # dict's mutators, kept in step with the levels

    def __setitem__(self, a_filter: str, value: Any) -> None:
        if a_filter not in self:
            self._add(a_filter)
        super().__setitem__(a_filter, value)

    def __delitem__(self, a_filter: str) -> None:
        super().__delitem__(a_filter)
        self._remove(a_filter)

    def pop(self, a_filter: str, *default: Any) -> Any:
        present = a_filter in self
        value = super().pop(a_filter, *default)
        if present:
            self._remove(a_filter)
        return value

    def clear(self) -> None:
        super().clear()
        self._root = _Level()

    def setdefault(self, a_filter: str, default: Any = None) -> Any:
        if a_filter not in self:
            self[a_filter] = default
        return super().__getitem__(a_filter)

    def popitem(self) -> tuple[str, Any]:
        a_filter, value = super().popitem()
        self._remove(a_filter)
        return a_filter, value

    def update(self, *args: Any, **kwargs: Any) -> None:
        for a_filter, value in dict(*args, **kwargs).items():
            self[a_filter] = value

    # iteration over a copy

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def keys(self) -> Any:
        return list(super().keys())

    def items(self) -> Any:
        return list(super().items())

    def values(self) -> Any:
        return list(super().values())
