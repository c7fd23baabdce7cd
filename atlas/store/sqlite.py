"""The embedded store: one SQLite file in the data dir.

Every method is a short transaction, cheap enough to call from the event loop
(a lookup is a few microseconds on an indexed key); a lock makes the store safe to
share between the loop and worker threads.

The daemon asks for the user (or the guest's bot) behind every text, so
:meth:`Store.user` and :meth:`Store.bot` remember what they read until the file
changes: SQLite's ``data_version`` moves when another connection (the ``atlas
users`` command, the bridge) commits, and a counter of this store's own commits
covers the rest. A lookup then costs that one check instead of two queries,
and a change is seen by the next lookup.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import access

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    uid TEXT PRIMARY KEY,
    lang TEXT NOT NULL,
    password_hash TEXT,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS user_env (
    uid TEXT NOT NULL REFERENCES users(uid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,          -- JSON
    PRIMARY KEY (uid, key)
);
CREATE TABLE IF NOT EXISTS bots (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    open INTEGER NOT NULL DEFAULT 0,
    token_hash TEXT NOT NULL,
    env TEXT NOT NULL DEFAULT '{}',   -- JSON
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS guest_sessions (
    id TEXT PRIMARY KEY,
    bot TEXT NOT NULL REFERENCES bots(name) ON DELETE CASCADE,
    owner TEXT NOT NULL DEFAULT '',   -- the end user's own id, when the client gives one
    data TEXT NOT NULL DEFAULT '{}',  -- JSON: the session data
    seen_at REAL NOT NULL             -- unix time of the last activity
);
CREATE INDEX IF NOT EXISTS guest_sessions_by_bot ON guest_sessions (bot, seen_at);
CREATE TABLE IF NOT EXISTS guest_images (
    id TEXT PRIMARY KEY,
    session TEXT NOT NULL REFERENCES guest_sessions(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS guest_images_by_session ON guest_images (session);
"""

_hasher = PasswordHasher()


class UserExists(ValueError):
    pass


class BotExists(ValueError):
    pass


class UnknownBot(KeyError):
    pass


@dataclass(frozen=True)
class Bot:
    """A chat widget's entry point: its end users are guests ``NAME/<session>``."""

    name: str
    id: str
    lang: str
    open: bool = False
    env: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuestSession:
    """One end user's conversation behind a bot (an AIDA session, an MCC interaction)."""

    id: str
    bot: str
    owner: str
    data: dict[str, Any]
    seen_at: float

    @property
    def uid(self) -> str:
        return f"{self.bot}/{self.id}"


class UnknownUser(KeyError):
    pass


@dataclass(frozen=True)
class User:
    uid: str
    lang: str
    env: dict[str, Any] = field(default_factory=dict)
    has_password: bool = False


#: Users and bots remembered between two changes of the file; past this many,
#: the memory starts again (a bot's guests are as many uids as sessions).
REMEMBERED = 4096
#: What the daemon gives ``version_holds``: a flood of texts (10,000 a second, each
#: looking its user up) costs one query a millisecond, and a change `atlas users`
#: commits is seen a millisecond later at most.
FLOOD_VERSION_HOLDS = 0.001

#: A user as read: language, has a password, env values as JSON texts (decoded on
#: each lookup, so a caller changing what it was given changes nothing here).
_UserRow = tuple[str, bool, tuple[tuple[str, str], ...]]
#: A bot as read: id, language, open, env as JSON text.
_BotRow = tuple[str, str, bool, str]


class Store:
    def __init__(self, path: Path | str, *, version_holds: float = 0.0) -> None:
        """``version_holds``: seconds one look at the file's version is trusted for
        (0: every lookup looks); this store's own changes are seen at once anyway."""
        self.path = Path(path)
        self._version_holds = version_holds
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)
        self._versions = self._db.cursor()
        self._commits = 0
        self._version: tuple[int, int] = (-1, -1)
        self._looked = -float("inf")
        self._users: dict[str, _UserRow | None] = {}
        self._bots: dict[str, _BotRow | None] = {}

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, version_holds: float = 0.0) -> Store:
        return cls(Path(data_dir) / "atlas.sqlite3", version_holds=version_holds)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._commits += 1  # what was remembered may be out of date now
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _check_remembered(self) -> None:
        """Forget the remembered users and bots if the file changed since (under the lock)."""
        now = time.monotonic()
        if now - self._looked < self._version_holds and self._commits == self._version[1]:
            return
        self._looked = now
        data_version = self._versions.execute("PRAGMA data_version").fetchone()[0]
        if data_version != self._version[0] or self._commits != self._version[1] \
                or len(self._users) + len(self._bots) > REMEMBERED:
            self._version = (data_version, self._commits)
            self._users.clear()
            self._bots.clear()

    # users

    def add_user(self, uid: str, lang: str, password: str | None = None) -> User:
        hashed = _hasher.hash(password) if password else None
        try:
            with self._tx() as db:
                db.execute("INSERT INTO users (uid, lang, password_hash) VALUES (?, ?, ?)",
                           (uid, lang, hashed))
        except sqlite3.IntegrityError:
            raise UserExists(uid) from None
        return User(uid, lang, {}, hashed is not None)

    def user(self, uid: str) -> User | None:
        with self._lock:
            self._check_remembered()
            if uid in self._users:
                row = self._users[uid]
            else:
                row = self._users[uid] = self._read_user(uid)
        if row is None:
            return None
        lang, has_password, env = row
        return User(uid, lang, {key: json.loads(value) for key, value in env}, has_password)

    def _read_user(self, uid: str) -> _UserRow | None:
        row = self._db.execute("SELECT lang, password_hash FROM users WHERE uid = ?",
                               (uid,)).fetchone()
        if row is None:
            return None
        env = tuple(self._db.execute(
            "SELECT key, value FROM user_env WHERE uid = ? ORDER BY key", (uid,)))
        return row[0], row[1] is not None, env

    def users(self) -> list[User]:
        with self._lock:
            uids = [row[0] for row in self._db.execute("SELECT uid FROM users ORDER BY uid")]
        return [user for uid in uids if (user := self.user(uid)) is not None]

    def set_lang(self, uid: str, lang: str) -> None:
        with self._tx() as db:
            if db.execute("UPDATE users SET lang = ? WHERE uid = ?", (lang, uid)).rowcount == 0:
                raise UnknownUser(uid)

    def set_password(self, uid: str, password: str) -> None:
        with self._tx() as db:
            changed = db.execute("UPDATE users SET password_hash = ? WHERE uid = ?",
                                 (_hasher.hash(password), uid)).rowcount
            if changed == 0:
                raise UnknownUser(uid)

    def delete_user(self, uid: str) -> None:
        with self._tx() as db:
            if db.execute("DELETE FROM users WHERE uid = ?", (uid,)).rowcount == 0:
                raise UnknownUser(uid)
        access.ended(self.path, uid)    # a bridge in this process closes their sockets now

    def verify_password(self, uid: str, password: str) -> bool:
        """Check a password; a missing user costs a hash too, so timing tells nothing."""
        with self._lock:
            row = self._db.execute("SELECT password_hash FROM users WHERE uid = ?",
                                   (uid,)).fetchone()
        stored = row[0] if row and row[0] else None
        try:
            if stored is None:
                _hasher.hash(password)
                return False
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    # per-user skill settings (__env)

    def set_env(self, uid: str, values: Mapping[str, Any]) -> None:
        """Set (or, with a ``None`` value, remove) some of a user's env values."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE uid = ?", (uid,)).fetchone() is None:
                raise UnknownUser(uid)
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM user_env WHERE uid = ? AND key = ?", (uid, key))
                else:
                    db.execute("INSERT OR REPLACE INTO user_env (uid, key, value) VALUES (?,?,?)",
                               (uid, key, json.dumps(value)))

    # bots and their guests

    def add_bot(self, name: str, lang: str, *, open_: bool = False) -> tuple[Bot, str]:
        """A new bot and its access token (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        bot = Bot(name, str(uuid.uuid4()), lang, open_)
        try:
            with self._tx() as db:
                db.execute("INSERT INTO bots (name, id, lang, open, token_hash) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (name, bot.id, lang, int(open_), _hasher.hash(token)))
        except sqlite3.IntegrityError:
            raise BotExists(name) from None
        return bot, token

    def _bot(self, column: str, value: str) -> Bot | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT name, id, lang, open, env FROM bots WHERE {column} = ?",
                (value,)).fetchone()
        return None if row is None else Bot(row[0], row[1], row[2], bool(row[3]),
                                             json.loads(row[4]))

    def bot(self, name: str) -> Bot | None:
        with self._lock:
            self._check_remembered()
            if name in self._bots:
                row = self._bots[name]
            else:
                found = self._db.execute("SELECT id, lang, open, env FROM bots WHERE name = ?",
                                         (name,)).fetchone()
                row = self._bots[name] = None if found is None else (
                    found[0], found[1], bool(found[2]), found[3])
        return None if row is None else Bot(name, row[0], row[1], row[2], json.loads(row[3]))

    def bot_by_id(self, bot_id: str) -> Bot | None:
        return self._bot("id", bot_id)

    def bots(self) -> list[Bot]:
        with self._lock:
            names = [row[0] for row in self._db.execute("SELECT name FROM bots ORDER BY name")]
        return [bot for name in names if (bot := self.bot(name)) is not None]

    def remove_bot(self, name: str) -> None:
        """The bot and everything of its guests (sessions, images) go."""
        with self._tx() as db:
            if db.execute("DELETE FROM bots WHERE name = ?", (name,)).rowcount == 0:
                raise UnknownBot(name)

    def new_bot_token(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._tx() as db:
            changed = db.execute("UPDATE bots SET token_hash = ? WHERE name = ?",
                                 (_hasher.hash(token), name)).rowcount
            if changed == 0:
                raise UnknownBot(name)
        return token

    def set_bot_env(self, name: str, values: Mapping[str, Any]) -> None:
        """Set (or, with ``None``, remove) env values the bot's guests get."""
        bot = self.bot(name)
        if bot is None:
            raise UnknownBot(name)
        env = {**bot.env, **values}
        env = {key: value for key, value in env.items() if value is not None}
        with self._tx() as db:
            db.execute("UPDATE bots SET env = ? WHERE name = ?", (json.dumps(env), name))

    def verify_bot_token(self, bot_id: str, token: str) -> Bot | None:
        """The bot when ``token`` is its current one; an unknown bot costs a hash too."""
        with self._lock:
            row = self._db.execute("SELECT name, token_hash FROM bots WHERE id = ?",
                                   (bot_id,)).fetchone()
        try:
            if row is None:
                _hasher.hash(token)
                return None
            if not _hasher.verify(row[1], token):
                return None
        except (VerificationError, InvalidHashError):
            return None
        return self.bot(row[0])

    def guest(self, uid: str) -> User | None:
        """A bot's guest (``NAME/<session>``) as a user: the bot's language and env."""
        name, slash, rest = uid.partition("/")
        if not slash or not rest:
            return None
        bot = self.bot(name)
        return None if bot is None else User(uid, bot.lang, dict(bot.env))

    def add_guest_session(self, bot: str, owner: str, data: Mapping[str, Any], now: float,
                          *, limit: int) -> GuestSession | None:
        """A new session of the bot, or ``None`` when the bot has ``limit`` already."""
        session = GuestSession(uuid.uuid4().hex, bot, owner, dict(data), now)
        with self._tx() as db:
            count = db.execute("SELECT COUNT(*) FROM guest_sessions WHERE bot = ?",
                               (bot,)).fetchone()[0]
            if count >= limit:
                return None
            db.execute("INSERT INTO guest_sessions (id, bot, owner, data, seen_at) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (session.id, bot, owner, json.dumps(session.data), now))
        return session

    def reclaim_guest_session(self, bot: str, before: float) -> GuestSession | None:
        """Delete the bot's session idle longest if it was last seen before ``before``
        (its images too), and return it; ``None`` if every session was seen since."""
        with self._tx() as db:
            row = db.execute("SELECT id, owner, data, seen_at FROM guest_sessions "
                             "WHERE bot = ? ORDER BY seen_at LIMIT 1", (bot,)).fetchone()
            if row is None or row[3] >= before:
                return None
            db.execute("DELETE FROM guest_sessions WHERE id = ?", (row[0],))
        return GuestSession(row[0], bot, row[1], json.loads(row[2]), row[3])

    def guest_session(self, bot: str, session_id: str) -> GuestSession | None:
        """The session, only if it belongs to that bot."""
        with self._lock:
            row = self._db.execute("SELECT owner, data, seen_at FROM guest_sessions "
                                   "WHERE id = ? AND bot = ?", (session_id, bot)).fetchone()
        return None if row is None else GuestSession(session_id, bot, row[0],
                                                      json.loads(row[1]), row[2])

    def touch_guest_session(self, session_id: str, now: float,
                            data: Mapping[str, Any] | None = None) -> None:
        """Record activity, merging ``data`` into the session data if given."""
        with self._tx() as db:
            if data:
                row = db.execute("SELECT data FROM guest_sessions WHERE id = ?",
                                 (session_id,)).fetchone()
                if row is not None:
                    merged = {**json.loads(row[0]), **data}
                    db.execute("UPDATE guest_sessions SET data = ? WHERE id = ?",
                               (json.dumps(merged), session_id))
            db.execute("UPDATE guest_sessions SET seen_at = ? WHERE id = ?", (now, session_id))

    def delete_guest_session(self, session_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM guest_sessions WHERE id = ?",
                              (session_id,)).rowcount > 0

    def expire_guest_sessions(self, before: float) -> list[GuestSession]:
        """Delete the sessions idle since ``before`` (images included); returns them."""
        with self._tx() as db:
            rows = db.execute("SELECT id, bot, owner, data, seen_at FROM guest_sessions "
                              "WHERE seen_at < ?", (before,)).fetchall()
            db.execute("DELETE FROM guest_sessions WHERE seen_at < ?", (before,))
        return [GuestSession(row[0], row[1], row[2], json.loads(row[3]), row[4]) for row in rows]

    def add_guest_image(self, session_id: str, content_type: str, data: bytes) -> str:
        image_id = uuid.uuid4().hex
        with self._tx() as db:
            db.execute("INSERT INTO guest_images (id, session, content_type, bytes) "
                       "VALUES (?, ?, ?, ?)", (image_id, session_id, content_type, data))
        return image_id

    def guest_image(self, image_id: str) -> tuple[str, str, bytes] | None:
        """(session id, content type, bytes) of an image."""
        with self._lock:
            row = self._db.execute("SELECT session, content_type, bytes FROM guest_images "
                                   "WHERE id = ?", (image_id,)).fetchone()
        return None if row is None else (row[0], row[1], bytes(row[2]))
