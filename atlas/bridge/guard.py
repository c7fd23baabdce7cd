"""Pure checks at the bridge's door: browser origins, repeated failed sign-ins, and how
fast one user or guest may talk."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .messages import TOO_MANY, Close


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a browser at ``origin`` may open a socket on the bridge reached as ``host``.

    No Origin header means a non-browser client, which its token alone admits. An empty
    ``allowed`` means the page the bridge serves itself: the origin's host:port must be
    the one the request was sent to. ``"*"`` admits every origin.
    """
    if origin is None:
        return True
    if "*" in allowed:
        return True
    normal = origin.strip().rstrip("/").lower()
    if allowed:
        return normal in {a.strip().rstrip("/").lower() for a in allowed}
    parts = urlsplit(normal)
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False
    default = "80" if parts.scheme == "http" else "443"
    return _with_port(parts.netloc, default) == _with_port(host.lower(), default)


def _with_port(netloc: str, default: str) -> str:
    if netloc.endswith("]") or ":" not in netloc:  # bare host, IPv6 literal included
        return f"{netloc}:{default}"
    return netloc


@dataclass
class FailureLimiter:
    """Slows down password guessing: after ``limit`` failures within ``window`` seconds
    for one key (a username, an address), that key waits until the oldest expires."""

    limit: int = 5
    window: float = 300.0
    #: Keys remembered at most: a flood of made-up usernames cannot grow memory forever.
    max_keys: int = 10_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: str, now: float) -> float:
        """Seconds this key must wait before trying again; 0 when it may try now."""
        failures = self._recent(key, now)
        if len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - now

    def fail(self, key: str, now: float) -> None:
        self._recent(key, now)
        if len(self._failures) >= self.max_keys:
            for old in list(self._failures):
                self._recent(old, now)
        self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def succeed(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass
class RateLimiter:
    """A token bucket per key (a user, a guest session): ``rate`` messages a second,
    bursts of ``burst``; what goes past it is refused, and the client told."""

    rate: float
    burst: float = 5.0
    #: Whose rate it is, when not the client's own (said after the bound).
    scope: str = ""
    #: Keys remembered at most; past it they are all forgotten (full buckets again).
    max_keys: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def per_second(cls, rate: float, scope: str = "") -> RateLimiter:
        """``rate`` a second in bursts of twice that: a person clicking quickly is not a
        flood."""
        return cls(rate, max(2.0, 2 * rate), scope)

    @property
    def limit(self) -> str:
        """The bound, as a refused client is told it."""
        return f"at most {self.rate:g} per second" + (f" {self.scope}" if self.scope else "")

    @property
    def refusal(self) -> Close:
        """What a refused client is told (its ``reason``), and how its socket is closed
        once a burst's worth were refused in a row."""
        return TOO_MANY.because(self.limit)

    def allow(self, key: str, now: float) -> bool:
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._buckets.clear()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


@dataclass
class Refusals:
    """One socket's messages refused in a row for their rate. A burst's worth of them is
    a flood, not a person: the socket is closed, since reading and answering each of a
    flood's frames would cost more than the flood itself."""

    limiter: RateLimiter
    in_a_row: int = 0

    def refused(self) -> bool:
        """One more refused; True when the socket should be closed."""
        self.in_a_row += 1
        return self.in_a_row >= self.limiter.burst

    def passed(self) -> None:
        self.in_a_row = 0
