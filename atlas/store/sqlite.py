"""The embedded store: one SQLite file in the data dir.

Every method is a short transaction, cheap enough to call from the event loop
(a lookup is a few microseconds on an indexed key); a lock makes the store safe to
share between the loop and worker threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
"""

_hasher = PasswordHasher()


class UserExists(ValueError):
    pass


class UnknownUser(KeyError):
    pass


@dataclass(frozen=True)
class User:
    uid: str
    lang: str
    env: dict[str, Any] = field(default_factory=dict)
    has_password: bool = False


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Store:
        return cls(Path(data_dir) / "atlas.sqlite3")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
            row = self._db.execute("SELECT lang, password_hash FROM users WHERE uid = ?",
                                   (uid,)).fetchone()
            if row is None:
                return None
            env = {key: json.loads(value) for key, value in self._db.execute(
                "SELECT key, value FROM user_env WHERE uid = ? ORDER BY key", (uid,))}
        return User(uid, row[0], env, row[1] is not None)

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
