"""News, within this process, that someone's access ended: a user removed, tokens revoked.

Whatever changes a database in this process (the bridge's own API, a command run
in-process) tells those who watch that same file, so a bridge closes the sockets
concerned at once instead of at its next look at the store. Other processes do
not hear it: the bridge still looks at the store every second for them.

Watchers are called on the thread that made the change, and must only schedule
work (``loop.call_soon_threadsafe``), never do it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

Watcher = Callable[[str], None]

_lock = threading.Lock()
_watchers: dict[str, list[Watcher]] = {}


def _key(database: Path | str) -> str:
    return str(database) if str(database) == ":memory:" else str(Path(database).resolve())


def watch(database: Path | str, watcher: Watcher) -> Callable[[], None]:
    """Call ``watcher(uid)`` whenever a user's access ends in this database; returns
    the function that stops it."""
    key = _key(database)
    with _lock:
        _watchers.setdefault(key, []).append(watcher)

    def stop() -> None:
        with _lock:
            found = _watchers.get(key, [])
            if watcher in found:
                found.remove(watcher)
            if not found:
                _watchers.pop(key, None)

    return stop


def ended(database: Path | str, uid: str) -> None:
    """Say that ``uid`` lost some access (removed, signed out); watchers' faults are theirs."""
    with _lock:
        found = list(_watchers.get(_key(database), ()))
    for watcher in found:
        watcher(uid)
