"""Access and refresh tokens: compact JWTs signed with HMAC-SHA256.

The codec (:func:`encode`, :func:`decode`) is pure: the clock is an argument. The
:class:`Tokens` shell adds the signing secret, lifetimes and a revocation table.

An access token names the refresh token it was made from (``fam``), so revoking a
refresh token also ends the access tokens derived from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..store import access

log = logging.getLogger(__name__)

Kind = Literal["access", "refresh"]

_HEADER = {"alg": "HS256", "typ": "JWT"}
SECRET_FILE = "bridge-secret"


class TokenError(Exception):
    """A token that cannot be accepted; ``str()`` says why, without the token."""


@dataclass(frozen=True)
class Claims:
    sub: str          # the username, which is the uid on MQTT
    kind: Kind
    iat: int
    exp: int
    jti: str          # this token's id
    fam: str          # the refresh token's id (itself, for a refresh token)

    def to_dict(self) -> dict[str, Any]:
        return {"sub": self.sub, "typ": self.kind, "iat": self.iat, "exp": self.exp,
                "jti": self.jti, "fam": self.fam}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise TokenError("malformed token") from None


def _sign(signing_input: bytes, secret: bytes) -> str:
    return _b64(hmac.new(secret, signing_input, hashlib.sha256).digest())


def encode(claims: Claims, secret: bytes) -> str:
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims.to_dict(), separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{_sign(signing_input, secret)}"


def decode(token: str, secret: bytes, *, now: float, kind: Kind) -> Claims:
    """Check signature, algorithm, kind and expiry; return the claims or raise TokenError."""
    if not isinstance(token, str) or len(token) > 4096 or token.count(".") != 2:
        raise TokenError("malformed token")
    head, body, signature = token.split(".")
    try:
        signing_input = f"{head}.{body}".encode("ascii")
    except UnicodeEncodeError:
        raise TokenError("malformed token") from None
    # Compare before parsing anything, so a forged token is never interpreted.
    if not hmac.compare_digest(signature.encode("ascii", "replace"),
                               _sign(signing_input, secret).encode("ascii")):
        raise TokenError("invalid signature")
    try:
        header = json.loads(_unb64(head))
        data = json.loads(_unb64(body))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenError("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("unsupported algorithm")
    try:
        claims = Claims(sub=_field(data, "sub", str), kind=_field(data, "typ", str),
                        iat=_field(data, "iat", int), exp=_field(data, "exp", int),
                        jti=_field(data, "jti", str), fam=_field(data, "fam", str))
    except (TypeError, KeyError):
        raise TokenError("malformed claims") from None
    if claims.kind != kind:
        raise TokenError(f"not an {kind} token" if kind == "access" else f"not a {kind} token")
    if now >= claims.exp:
        raise TokenError("token expired")
    return claims


def _field(data: Any, key: str, kind: type) -> Any:
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(key)
    return value


def load_secret(data_dir: Path) -> bytes:
    """The signing secret, created once (mode 0600) in the data dir."""
    path = Path(data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as file:
        file.write(secret.hex())
    return secret


def _read_secret(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); restricting it to 0600", path, mode)
        path.chmod(0o600)
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise ValueError(f"{path}: not a valid signing secret; delete it to make a new one")
    return secret


_SCHEMA = """
CREATE TABLE IF NOT EXISTS bridge_refresh_tokens (
    jti TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS bridge_refresh_tokens_uid ON bridge_refresh_tokens (uid);
"""


class Tokens:
    """Issues, refreshes, verifies and revokes tokens.

    The refresh-token table lives in the store's SQLite file (the bridge's own table),
    through a connection of its own.
    """

    def __init__(self, secret: bytes, db_path: Path | str, *, access_ttl: int, refresh_ttl: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._path = db_path
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def seconds_left(self, claims: Claims) -> float:
        """How long a verified token stays valid."""
        return max(0.0, claims.exp - self._clock())

    def _claims(self, uid: str, kind: Kind, ttl: int, fam: str | None) -> Claims:
        now = int(self._clock())
        jti = secrets.token_urlsafe(16)
        return Claims(uid, kind, now, now + ttl, jti, fam or jti)

    def issue(self, uid: str) -> tuple[str, str]:
        """A new (access, refresh) pair for a user who just proved their password."""
        refresh = self._claims(uid, "refresh", self.refresh_ttl, None)
        with self._lock:
            self._db.execute("DELETE FROM bridge_refresh_tokens WHERE expires_at <= ?",
                             (int(self._clock()),))
            self._db.execute("INSERT INTO bridge_refresh_tokens (jti, uid, expires_at) "
                             "VALUES (?, ?, ?)", (refresh.jti, uid, refresh.exp))
        access = self._claims(uid, "access", self.access_ttl, refresh.jti)
        return encode(access, self._secret), encode(refresh, self._secret)

    def refresh(self, token: str) -> str:
        """A new access token from a live, unrevoked refresh token."""
        claims = decode(token, self._secret, now=self._clock(), kind="refresh")
        self._check_family(claims.fam)
        return encode(self._claims(claims.sub, "access", self.access_ttl, claims.fam),
                      self._secret)

    def verify(self, token: str) -> Claims:
        """The claims of a valid access token, or TokenError."""
        claims = decode(token, self._secret, now=self._clock(), kind="access")
        self._check_family(claims.fam)
        return claims

    def _check_family(self, fam: str) -> None:
        with self._lock:
            row = self._db.execute("SELECT revoked FROM bridge_refresh_tokens WHERE jti = ?",
                                   (fam,)).fetchone()
        if row is None or row[0]:
            raise TokenError("token revoked")

    def revoke(self, refresh_token: str) -> str:
        """Revoke a refresh token (and its access tokens); an expired one is fine too.

        Returns its id, the ``fam`` of the access tokens made from it.
        """
        claims = decode(refresh_token, self._secret, now=0, kind="refresh")
        with self._lock:
            self._db.execute("UPDATE bridge_refresh_tokens SET revoked = 1 WHERE jti = ?",
                             (claims.jti,))
        access.ended(self._path, claims.sub)
        return claims.jti

    def revoked(self, families: set[str]) -> set[str]:
        """Those of these refresh token ids that are revoked (or gone)."""
        if not families:
            return set()
        marks = ",".join("?" * len(families))
        with self._lock:
            live = {row[0] for row in self._db.execute(
                f"SELECT jti FROM bridge_refresh_tokens WHERE revoked = 0 AND jti IN ({marks})",
                tuple(families))}
        return families - live

    def revoke_user(self, uid: str) -> int:
        """Revoke every token of a user (a password change, a stolen device)."""
        with self._lock:
            revoked = _revoke_user(self._db, uid)
        access.ended(self._path, uid)
        return revoked


def _revoke_user(db: sqlite3.Connection, uid: str) -> int:
    revoked: int = db.execute("UPDATE bridge_refresh_tokens SET revoked = 1 "
                              "WHERE uid = ? AND revoked = 0", (uid,)).rowcount
    return revoked


def sign_out_everywhere(db_path: Path | str, uid: str) -> int:
    """Revoke every token of a user without the signing secret (``atlas users passwd``,
    which may run where the bridge never did); how many sign-ins ended."""
    db = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.executescript(_SCHEMA)
        revoked = _revoke_user(db, uid)
    finally:
        db.close()
    access.ended(db_path, uid)
    return revoked
