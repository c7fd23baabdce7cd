"""Where the daemon keeps its channels, so that a restart loses no conversation.

:class:`ConversationState` is the whole interface the daemon needs: load every
record at start-up, then save each event's changes as one batch. A record is a
channel as plain JSON (see :mod:`atlas.core.records`) and the sid's armed
deadline as an absolute wall-clock time, so a restarted daemon re-arms it (or
fires it at once if it passed while the daemon was down).

:class:`SqliteConversationState` keeps them in SQLite in WAL mode: one short
transaction per event. A second implementation (Redis, for several daemons) needs
only the same three methods.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    sid TEXT PRIMARY KEY,
    record TEXT NOT NULL,           -- JSON, atlas.core.records
    deadline_generation INTEGER,    -- the armed deadline, if any
    deadline_at REAL                -- seconds since the epoch
);
"""


@dataclass(frozen=True)
class Armed:
    """A deadline: the generation it was armed for, and when it passes (epoch seconds)."""

    generation: int
    at: float


@dataclass(frozen=True)
class Stored:
    """One sid as stored: its channel record and its armed deadline."""

    record: dict[str, Any]
    deadline: Armed | None = None


#: One event's changes: a sid's new state, or ``None`` for a sid to forget.
Batch = Mapping[str, Stored | None]


class ConversationState(Protocol):
    """The daemon's durable memory of its channels."""

    def load(self) -> dict[str, Stored]:
        """Every stored sid (at start-up)."""
        ...

    def save(self, batch: Batch) -> None:
        """Write one event's changes, all or nothing."""
        ...

    def close(self) -> None: ...


class SqliteConversationState:
    """Channels in one SQLite table; safe to call from the loop (a save is ~0.1 ms)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives the process being killed (the OS holds the
        # log); only a power cut can lose the last events. FULL would fsync each one.
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> SqliteConversationState:
        return cls(Path(data_dir) / "conversations.sqlite3")

    def load(self) -> dict[str, Stored]:
        with self._lock:
            rows = self._db.execute(
                "SELECT sid, record, deadline_generation, deadline_at FROM channels").fetchall()
        loaded: dict[str, Stored] = {}
        for sid, record, generation, at in rows:
            try:
                data = json.loads(record)
            except ValueError:
                data = None     # from_record reports it
            armed = Armed(int(generation), float(at)) if generation is not None else None
            loaded[sid] = Stored(data, armed)
        return loaded

    def save(self, batch: Batch) -> None:
        if not batch:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for sid, stored in batch.items():
                    if stored is None:
                        self._db.execute("DELETE FROM channels WHERE sid = ?", (sid,))
                        continue
                    deadline = stored.deadline
                    self._db.execute(
                        "INSERT OR REPLACE INTO channels VALUES (?, ?, ?, ?)",
                        (sid, json.dumps(stored.record, ensure_ascii=False,
                                         separators=(",", ":")),
                         None if deadline is None else deadline.generation,
                         None if deadline is None else deadline.at))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
