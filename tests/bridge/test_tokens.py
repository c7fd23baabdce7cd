"""Tokens: the pure codec (expiry, forgery) and the shell (refresh, revocation, secret)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from atlas.bridge.tokens import Claims, TokenError, Tokens, decode, encode, load_secret

SECRET = b"s" * 32
CLAIMS = Claims("alice", "access", 1000, 1900, "id1", "fam1")


def test_round_trip() -> None:
    token = encode(CLAIMS, SECRET)
    assert decode(token, SECRET, now=1500, kind="access") == CLAIMS


def test_is_a_standard_hs256_jwt() -> None:
    head, body, _ = encode(CLAIMS, SECRET).split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["sub"] == "alice" and claims["exp"] == 1900


def test_expired() -> None:
    with pytest.raises(TokenError, match="expired"):
        decode(encode(CLAIMS, SECRET), SECRET, now=1900, kind="access")


def test_other_secret_is_forgery() -> None:
    with pytest.raises(TokenError, match="signature"):
        decode(encode(CLAIMS, b"x" * 32), SECRET, now=1500, kind="access")


def test_tampered_claims_are_forgery() -> None:
    head, _, signature = encode(CLAIMS, SECRET).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(
        {**CLAIMS.to_dict(), "sub": "bob"}).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="signature"):
        decode(f"{head}.{forged}.{signature}", SECRET, now=1500, kind="access")


def test_alg_none_is_refused() -> None:
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    _, body, _ = encode(CLAIMS, SECRET).split(".")
    with pytest.raises(TokenError):
        decode(f"{head}.{body}.", SECRET, now=1500, kind="access")


def test_refresh_token_is_not_an_access_token() -> None:
    refresh = Claims("alice", "refresh", 1000, 9000, "r", "r")
    with pytest.raises(TokenError, match="not an access token"):
        decode(encode(refresh, SECRET), SECRET, now=1500, kind="access")


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "é.é.é", "x" * 5000])
def test_garbage(token: str) -> None:
    with pytest.raises(TokenError):
        decode(token, SECRET, now=1500, kind="access")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(tmp_path: Path, clock: Clock) -> Tokens:
    return Tokens(SECRET, tmp_path / "atlas.sqlite3", access_ttl=60, refresh_ttl=3600,
                  clock=clock)


def test_issue_verify_and_refresh(tokens: Tokens, clock: Clock) -> None:
    access, refresh = tokens.issue("alice")
    assert tokens.verify(access).sub == "alice"
    clock.now += 61
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(access)
    renewed = tokens.refresh(refresh)
    assert tokens.verify(renewed).sub == "alice"
    with pytest.raises(TokenError, match="not a refresh token"):
        tokens.refresh(renewed)


def test_refresh_token_expires(tokens: Tokens, clock: Clock) -> None:
    _, refresh = tokens.issue("alice")
    clock.now += 3600
    with pytest.raises(TokenError, match="expired"):
        tokens.refresh(refresh)


def test_revocation_ends_refresh_and_its_access_tokens(tokens: Tokens) -> None:
    access, refresh = tokens.issue("alice")
    other_access, other_refresh = tokens.issue("alice")
    derived = tokens.refresh(refresh)
    tokens.revoke(refresh)
    for token in (access, derived):
        with pytest.raises(TokenError, match="revoked"):
            tokens.verify(token)
    with pytest.raises(TokenError, match="revoked"):
        tokens.refresh(refresh)
    assert tokens.verify(other_access).sub == "alice"  # another sign-in is untouched
    assert tokens.revoke_user("alice") == 1
    with pytest.raises(TokenError, match="revoked"):
        tokens.refresh(other_refresh)


def test_revocation_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    first = Tokens(SECRET, tmp_path / "db", access_ttl=60, refresh_ttl=3600, clock=clock)
    access, refresh = first.issue("alice")
    first.revoke(refresh)
    first.close()
    second = Tokens(SECRET, tmp_path / "db", access_ttl=60, refresh_ttl=3600, clock=clock)
    with pytest.raises(TokenError, match="revoked"):
        second.verify(access)


def test_secret_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    secret = load_secret(tmp_path / "data")
    path = tmp_path / "data" / "bridge-secret"
    assert len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path / "data") == secret


def test_a_readable_secret_is_locked_down(tmp_path: Path) -> None:
    secret = load_secret(tmp_path)
    path = tmp_path / "bridge-secret"
    path.chmod(0o644)
    assert load_secret(tmp_path) == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_corrupt_secret_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bridge-secret").write_text("not hex")
    (tmp_path / "bridge-secret").chmod(0o600)
    with pytest.raises(ValueError, match="not a valid signing secret"):
        load_secret(tmp_path)
