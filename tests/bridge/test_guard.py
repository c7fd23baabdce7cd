"""Origin checks and the failed sign-in limiter."""

from __future__ import annotations

import pytest

from atlas.bridge.guard import FailureLimiter, origin_allowed


@pytest.mark.parametrize(("origin", "host", "allowed", "expected"), [
    (None, "127.0.0.1:8080", (), True),                          # not a browser
    ("http://127.0.0.1:8080", "127.0.0.1:8080", (), True),       # the page itself
    ("http://127.0.0.1:8080/", "127.0.0.1:8080", (), True),
    ("http://evil.example", "127.0.0.1:8080", (), False),
    ("http://127.0.0.1:9999", "127.0.0.1:8080", (), False),
    ("http://atlas.home", "atlas.home", (), True),               # default ports
    ("https://atlas.home", "atlas.home", (), True),
    ("http://atlas.home", "atlas.home:8080", (), False),
    ("null", "127.0.0.1:8080", (), False),                       # sandboxed frames, files
    ("file://", "127.0.0.1:8080", (), False),
    ("https://app.example", "127.0.0.1:8080", ("https://app.example",), True),
    ("https://APP.example/", "127.0.0.1:8080", ("https://app.example",), True),
    ("http://127.0.0.1:8080", "127.0.0.1:8080", ("https://app.example",), False),
    ("https://anything", "x", ("*",), True),
])
def test_origin_allowed(origin: str | None, host: str, allowed: tuple[str, ...],
                        expected: bool) -> None:
    assert origin_allowed(origin, host, allowed) is expected


def test_limiter_blocks_after_limit_until_the_window_passes() -> None:
    limiter = FailureLimiter(limit=3, window=60)
    for t in (0, 10, 20):
        assert limiter.retry_after("alice", t) == 0
        limiter.fail("alice", t)
    assert limiter.retry_after("alice", 30) == 30
    assert limiter.retry_after("bob", 30) == 0
    assert limiter.retry_after("alice", 60) == 0   # the first failure has expired


def test_success_clears_failures() -> None:
    limiter = FailureLimiter(limit=2, window=60)
    limiter.fail("alice", 0)
    limiter.succeed("alice")
    limiter.fail("alice", 1)
    assert limiter.retry_after("alice", 2) == 0


def test_memory_stays_bounded() -> None:
    limiter = FailureLimiter(limit=2, window=10, max_keys=100)
    for i in range(1000):
        limiter.fail(f"user{i}", float(i))
    assert len(limiter._failures) <= 100
