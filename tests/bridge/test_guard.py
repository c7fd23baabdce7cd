"""Origin checks, the failed sign-in limiter and the message rate limiter."""

from __future__ import annotations

import pytest

from atlas.bridge.guard import FailureLimiter, RateLimiter, Refusals, origin_allowed


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


def test_rate_limiter_lets_a_burst_then_the_rate_through_per_key() -> None:
    limiter = RateLimiter(rate=2, burst=4)
    assert [limiter.allow("alice", 0.0) for _ in range(6)] == [True] * 4 + [False] * 2
    assert limiter.allow("bob", 0.0)                    # buckets are per key
    assert not limiter.allow("alice", 0.4)              # 0.8 of a token back: not enough
    assert limiter.allow("alice", 0.5)                  # refused ones cost nothing
    assert not limiter.allow("alice", 0.5)
    assert [limiter.allow("alice", 100.0) for _ in range(5)] == [True] * 4 + [False]
    limiter.forget("alice")
    assert limiter.allow("alice", 100.0)


def test_rate_limiter_forgets_every_key_rather_than_grow() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_keys=3)
    for key in "abc":
        assert limiter.allow(key, 0.0)
    assert not limiter.allow("a", 0.0)
    assert limiter.allow("d", 0.0)                      # a fourth key: all forgotten
    assert limiter.allow("a", 0.0)


def test_a_burst_refused_in_a_row_is_a_flood() -> None:
    limiter = RateLimiter.per_second(5)
    assert (limiter.burst, limiter.limit) == (10, "at most 5 per second")
    # The error frame's text and the close's reason are one.
    assert (limiter.refusal.code, limiter.refusal.reason) == (
        1008, "too many messages: at most 5 per second")
    assert RateLimiter.per_second(0.5).burst == 2       # a burst lets a person re-send
    refusals = Refusals(limiter)
    assert [refusals.refused() for _ in range(9)] == [False] * 9
    refusals.passed()                                   # one let through: not in a row
    assert [refusals.refused() for _ in range(10)] == [False] * 9 + [True]
