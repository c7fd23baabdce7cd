"""What a daemon heard of each sid, and which of it the sid's last holder handled.

With several daemons (``state: redis://…``) every daemon hears every message, and
the one holding a sid's lease handles it. The others keep what they heard of sids
they do not hold: if the holder dies, the daemon that takes a sid over replays
what the holder did not handle. Channels and skills send no message ids, so
"what was handled" is told by content: the holder stores, with the sid's record,
the digests of the last :data:`TAIL` messages it handled of each kind (one
publisher per kind and sid, so every daemon hears a kind's messages in the same
order); the daemon taking over lines up the digests it heard with that tail, and
what comes after the tail is new (:func:`unhandled`).

The limit of telling by content: if the last :data:`TAIL` messages of a kind
were all the same (a user typing "yes" seventeen times), a daemon taking the sid
over exactly then counts one too many as handled.

Pure bookkeeping: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Digests of handled messages kept in a sid's record, per kind.
TAIL = 16
#: Digests of heard messages kept per sid and kind (more than TAIL: what a holder
#: had not handled when it died comes after its tail).
HEARD = 64
#: Messages kept per sid held by another daemon, for replay if it dies.
KEPT = 256


def kind_of(message: Any) -> str:
    return type(message).__name__


def digest(message: Any) -> str:
    """A short digest of a decoded message: the same on every daemon of a version."""
    return hashlib.blake2b(repr(message).encode(), digest_size=8).hexdigest()


def unhandled(heard: Sequence[str], tail: Sequence[str]) -> int:
    """How many of the last messages ``heard`` (digests, oldest first) come after
    ``tail``, the digests of the last messages the holder handled.

    The fewest that line the rest up with the tail: a daemon that heard everything
    heard the tail's messages just before the unhandled ones.
    """
    if not tail:
        return len(heard)
    heard, tail = list(heard), list(tail)
    for new in range(len(heard) + 1):
        done = len(heard) - new
        n = min(done, len(tail))
        if n == 0 or heard[done - n:done] == tail[len(tail) - n:]:
            return new
    return len(heard)    # not reached: new == len(heard) gives n == 0


def handled_tail(tail: Sequence[str] | None, digest: str) -> list[str]:
    """``tail`` with one more handled message, kept to :data:`TAIL` digests."""
    return [*(tail or ())[-(TAIL - 1):], digest]


@dataclass
class _Sid:
    heard: dict[str, deque[str]] = field(default_factory=dict)
    #: Messages heard so far, per kind (the position of each kept message).
    counts: dict[str, int] = field(default_factory=dict)
    #: What was heard while another daemon held the sid: (kind, position, item).
    kept: deque[tuple[str, int, Any]] = field(default_factory=lambda: deque(maxlen=KEPT))
    last: float = 0.0


class Hearing:
    """Per sid: the digests heard of each kind, and the messages kept for replay."""

    def __init__(self) -> None:
        self._sids: dict[str, _Sid] = {}

    def __len__(self) -> int:
        return len(self._sids)

    def note(self, sid: str, message: Any, now: float) -> tuple[str, int, str]:
        """Hear ``message``: its kind, position in that kind, and digest."""
        heard = self._sids.get(sid)
        if heard is None:
            heard = self._sids[sid] = _Sid()
        kind = kind_of(message)
        mark = digest(message)
        line = heard.heard.get(kind)
        if line is None:
            line = heard.heard[kind] = deque(maxlen=HEARD)
        line.append(mark)
        position = heard.counts[kind] = heard.counts.get(kind, 0) + 1
        heard.last = now
        return kind, position, mark

    def keep(self, sid: str, kind: str, position: int, item: Any) -> None:
        """Keep ``item`` (heard as ``position`` of ``kind``): another daemon holds the sid."""
        heard = self._sids.get(sid)
        if heard is not None:
            heard.kept.append((kind, position, item))

    def keeping(self, sid: str) -> bool:
        heard = self._sids.get(sid)
        return heard is not None and bool(heard.kept)

    def take_over(self, sid: str, handled: dict[str, list[str]] | None) -> list[Any]:
        """The kept items the last holder did not handle, in the order heard.

        ``handled`` is the holder's record of it (per kind, the digests of the last
        messages handled). Everything kept is let go.
        """
        replay = [item for _, _, item in self._unhandled(sid, handled)]
        if (heard := self._sids.get(sid)) is not None:
            heard.kept.clear()
        return replay

    def prune(self, sid: str, handled: dict[str, list[str]] | None) -> None:
        """Keep only what the holder has not handled yet (its record says ``handled``)."""
        heard = self._sids.get(sid)
        if heard is not None and heard.kept:
            still = self._unhandled(sid, handled)
            heard.kept.clear()
            heard.kept.extend(still)

    def _unhandled(self, sid: str, handled: dict[str, list[str]] | None
                   ) -> list[tuple[str, int, Any]]:
        heard = self._sids.get(sid)
        if heard is None or not heard.kept:
            return []
        handled = handled or {}
        first_new = {kind: heard.counts[kind] - unhandled(line, handled.get(kind, ())) + 1
                     for kind, line in heard.heard.items()}
        return [entry for entry in heard.kept if entry[1] >= first_new.get(entry[0], 0)]

    def forget_idle(self, before: float) -> int:
        """Forget sids last heard before ``before`` and keeping nothing; how many."""
        idle = [sid for sid, heard in self._sids.items()
                if heard.last < before and not heard.kept]
        for sid in idle:
            del self._sids[sid]
        return len(idle)
