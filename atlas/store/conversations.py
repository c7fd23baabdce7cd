"""Where the daemon keeps its channels, so that a restart loses no conversation.

:class:`ConversationState` is the whole interface the daemon needs: load every
record at start-up, then save each event's changes as one batch. A record is a
channel as plain JSON (see :mod:`atlas.core.records`) and the sid's armed
deadline as an absolute wall-clock time, so a restarted daemon re-arms it (or
fires it at once if it passed while the daemon was down).

:class:`SqliteConversationState` keeps them in SQLite in WAL mode, written by a
thread of its own. A second implementation (Redis, for several daemons sharing
the channels) needs only the same three methods.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Seconds the writer gathers changes before a commit: what a kill -9 may lose.
GATHER = 0.05

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
class Outbox:
    """The messages the last write of a sid decided, as (topic, payload) pairs, and
    that write's number for the sid: a daemon taking over publishes them if the
    writer never said it had (:mod:`atlas.daemon.sharing`)."""

    seq: int
    messages: tuple[tuple[str, str], ...] = ()
    #: When it was written (epoch seconds).
    at: float = 0.0


@dataclass(frozen=True)
class Stored:
    """One sid as stored: its channel record (``None`` if unreadable) and its deadline.

    ``handled`` and ``outbox`` are for several daemons sharing the sid (Redis): the
    digests of the last messages handled, per kind (:mod:`atlas.daemon.hearing`),
    and what the last write decided to publish. One daemon has no use for them, and
    SQLite does not keep them.
    """

    record: dict[str, Any] | None
    deadline: Armed | None = None
    handled: dict[str, list[str]] | None = None
    outbox: Outbox | None = None


#: One event's changes: a sid's new state, or ``None`` for a sid to forget.
Batch = Mapping[str, Stored | None]


class ConversationState(Protocol):
    """The daemon's durable memory of its channels."""

    def load(self) -> dict[str, Stored]:
        """Every stored sid (at start-up)."""
        ...

    def save(self, batch: Batch) -> None:
        """Keep one event's changes, all or nothing, in the order saved.

        It may return before they reach the disk, but must never block for long:
        the daemon calls it on its loop, for every event.
        """
        ...

    def close(self) -> None: ...


class SqliteConversationState:
    """Channels in one SQLite table, written by a thread of their own.

    :meth:`save` only hands the batch over (a dict update: microseconds), so the
    daemon's loop never waits on the disk; measured on a busy machine, a commit
    on the loop stalled it for up to 190 ms now and then, every sid behind it.
    The writer gathers changes for ``GATHER`` seconds and commits them in one
    transaction, latest state per sid, so a flood of events costs few commits and
    few wake-ups (waking it at every event cost 80 % of a turn's time). The price:
    a ``kill -9`` loses the last ``GATHER`` seconds or so of changes (those sids
    come back as they were just before; a conversation then shown as working ends
    with a reason).
    """

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives the process being killed (the OS holds the
        # log); only a power cut can lose the last commits. FULL would fsync each one.
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(SCHEMA)
        self._db_lock = threading.Lock()
        self._pending: dict[str, Stored | None] = {}
        self._changed = threading.Condition()
        self._writing = False
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                        name="atlas-state-writer")
        self._writer.start()

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> SqliteConversationState:
        return cls(Path(data_dir) / "conversations.sqlite3")

    def load(self) -> dict[str, Stored]:
        self.flush()
        with self._db_lock:
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
        with self._changed:
            if self._closing:
                raise RuntimeError("the conversation state is closed")
            wake = not self._pending    # the writer is already coming for the rest
            self._pending.update(batch)
            if wake:
                self._changed.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything saved so far is committed; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._writing,
                                          timeout)

    def _write_loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._pending:
                    return          # closing, and everything written
                if not self._closing:
                    # Gather the rest of the turn (a text, the skill's answers): one
                    # commit and one wake-up for several events, not one each.
                    self._changed.wait(GATHER)
                batch, self._pending = self._pending, {}
                self._writing = True
            try:
                self._commit(batch)
            except Exception:  # a full disk must not kill the writer
                log.exception("could not save %d channel(s)", len(batch))
            with self._changed:
                self._writing = False
                self._changed.notify_all()

    def _commit(self, batch: Batch) -> None:
        with self._db_lock:
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
        """Write what is pending, then close."""
        with self._changed:
            if self._closing:
                return
            self._closing = True
            self._changed.notify_all()
        self._writer.join(30)
        with self._db_lock:
            self._db.close()
